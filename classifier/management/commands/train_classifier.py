from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from classifier import services
from classifier.search import OBJECTIVES


class Command(BaseCommand):
    help = (
        "Train a classifier version on the labelled data in the database (imported history and "
        "agent-confirmed categories), its settings chosen by cross-validation on that data, "
        "store it, and activate it if it is not worse than the active version on the "
        "hold-out. Prints a JSON summary (with the chosen settings) on its last line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument(
            "--activate-always", action="store_true", help="Activate even if it is worse."
        )
        group.add_argument("--no-activate", action="store_true", help="Store it inactive.")
        parser.add_argument("--notes", default="")
        parser.add_argument(
            "--objective", choices=OBJECTIVES, default=None,
            help="What the model search maximises (default: settings.CLASSIFIER_OBJECTIVE).",
        )
        parser.add_argument(
            "--min-examples", type=int, default=None,
            help="Refuse to train on fewer (default: settings.CLASSIFIER_MIN_EXAMPLES).",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        policy = (
            "always" if opts["activate_always"] else "never" if opts["no_activate"]
            else "if_not_worse"
        )
        try:
            outcome = services.train_and_activate(
                policy=policy, notes=opts["notes"], min_examples=opts["min_examples"],
                objective=opts["objective"],
            )
        except services.NotEnoughData as exc:
            raise CommandError(f"not training: {exc}") from exc
        self.stdout.write(json.dumps(outcome.summary()))
