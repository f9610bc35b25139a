"""Every admin page an agent or a manager can reach renders (no template or query errors),
with demo-like data present."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

from tests.tickets.factories import UserFactory


@pytest.fixture
def demo(db):
    call_command("seed_demo", "--tickets", "12", "--days", "5", "--customers", "3")


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["agent1", "manager"])
def test_it_renders_every_admin_list_and_detail_page_staff_can_see(client, demo, username):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username=username)
    client.force_login(user)
    seen = 0
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        resp = client.get(changelist)
        if not model_admin.has_view_permission(_request(user)):
            assert resp.status_code == 403, changelist
            continue
        assert resp.status_code == 200, (changelist, resp.status_code)
        obj = model_admin.get_queryset(_request(user)).first()
        if obj is not None:
            page = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
            assert client.get(page).status_code == 200, page
        seen += 1
    assert seen >= 5


def _request(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = user
    return request


@pytest.mark.django_db
def test_it_refuses_the_admin_to_a_customer(client, demo):
    client.force_login(UserFactory(username="someone"))

    assert client.get("/admin/").status_code == 302
