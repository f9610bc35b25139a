"""Readable demo tickets, hand-written per category of the shipped sample (the sample itself is
the corpus's stop-word-stripped text, fine for training but not for reading). Each entry:
(subject, description, an agent's first reply, the agent's closing reply)."""

from __future__ import annotations

Entry = tuple[str, str, str, str]

TICKETS: dict[str, list[Entry]] = {
    "Hardware": [
        ("Laptop will not start after the update",
         "Since this morning's update my laptop shows the logo and then a black screen. I tried "
         "holding the power button for 30 seconds but nothing changes. I have a client call at 3.",
         "Sorry about that. Please plug in the charger and hold Shift while it boots: does it "
         "reach the recovery screen?",
         "The update left a broken display driver; I rolled it back remotely. It starts again."),
        ("Second monitor flickers",
         "The external monitor on my desk flickers every few seconds, the laptop screen is fine. "
         "I already swapped the HDMI cable with a colleague's.",
         "Thanks for trying the cable. Which dock model is on your desk (label underneath)?",
         "The dock firmware was outdated; updated it and the flicker is gone on our test."),
        ("Docking station not charging the laptop",
         "When I connect my laptop to the docking station it no longer charges and the USB "
         "keyboard is dead. Other desks work with my laptop.",
         "We will bring a replacement dock to your desk this afternoon.",
         "Dock replaced; the old one had a failed power board."),
        ("Keyboard keys stuck",
         "Several keys on my keyboard (E, R and the space bar) stick after I spilled some tea "
         "yesterday. Typing is really slow now.",
         "Please don't use it any more; a spare keyboard is on its way.",
         "New keyboard delivered; the old one went to recycling."),
        ("Headset microphone not working in calls",
         "People cannot hear me in Teams calls with my USB headset. The headset light is on and "
         "sound comes through fine.",
         "Could you open Sound settings and check which input device is selected?",
         "The input was set to the laptop microphone; switched it and raised its level."),
    ],
    "HR Support": [
        ("Timecard approval shows an error",
         "When my manager tries to approve my timecard for last week she gets 'approval chain "
         "not found'. Payroll closes on Friday.",
         "I see the approval chain lost your new manager after the reorganisation; fixing it.",
         "Approval chain corrected and your timecard is approved."),
        ("Cannot submit my holiday request",
         "The holiday form says I have 0 days left, but my contract gives me 28 days and I only "
         "took 5 this year.",
         "Your balance was not carried over when you changed contracts. Checking with payroll.",
         "Balance corrected to 23 days; you can submit the request now."),
        ("Payslip not visible in the portal",
         "My payslip for this month is missing in the HR portal, all previous ones are there.",
         "The payslips were published late this month; could you check again now?",
         "Confirmed it is visible now, thanks for your patience."),
        ("Question about relocation paperwork",
         "I am moving to the Lisbon office in two months. Which forms do I need to fill in and "
         "who signs them?",
         "You need the relocation request and the tax residency form; I sent both by mail.",
         "All forms received and forwarded to the Lisbon HR team."),
    ],
    "Access": [
        ("Cannot log in to the VPN",
         "The VPN client says 'authentication failed' since I changed my password yesterday. "
         "I am working from home today.",
         "The VPN keeps the old password cached. Please sign out of the client and sign in "
         "again with the new password.",
         "Confirmed you are connected; the cached credentials were the problem."),
        ("Password reset needed",
         "I locked myself out after too many attempts and the self-service reset does not send "
         "me the code.",
         "I have reset your account; a temporary password is on its way to your phone.",
         "You are back in and the self-service reset now has your current phone number."),
        ("Need access to the finance shared drive",
         "I joined the finance team on Monday and need read and write access to the Finance "
         "shared drive. My manager approves.",
         "Access requested; waiting for the drive owner's approval.",
         "Access granted; it may take a new login to appear."),
        ("Access card stopped working",
         "My access card no longer opens the main entrance or the 3rd floor since this morning.",
         "Your card was deactivated by mistake in the badge clean-up; reactivating it.",
         "Card reactivated; please try it at the entrance."),
        ("Account locked after the update",
         "After the update I cannot log in to my computer: 'your account has been locked'.",
         "Unlocked. Did you have a saved password on your phone's mail app?",
         "The phone kept retrying an old password; removed it and the lock is gone."),
    ],
    "Miscellaneous": [
        ("Meeting room display shows nothing",
         "The wall display in meeting room Orion shows 'no signal' whatever we plug in.",
         "We will check the room's HDMI switch before your next meeting.",
         "The HDMI switch had lost power; it works again."),
        ("Question about the new expense process",
         "Do I still send receipts on paper or only through the new app?",
         "Only through the app now; a photo of the receipt is enough.",
         "Glad it is clear, closing this one."),
        ("Printer on the 2nd floor jams",
         "The big printer next to the kitchen jams on every double-sided job.",
         "A technician is booked for tomorrow morning.",
         "Rollers replaced; double-sided printing works again."),
        ("Please add me to the all-staff mailing list",
         "I don't receive the all-staff newsletter since I started two weeks ago.",
         "Added you; the next newsletter should reach you.",
         "Confirmed you received this week's issue."),
    ],
    "Storage": [
        ("Mailbox almost full",
         "Outlook warns that my mailbox is 98% full and soon I cannot send mail.",
         "I doubled your quota for now; archiving old mail would help too.",
         "Quota raised and an archive policy set for mail older than two years."),
        ("Restore a deleted folder",
         "I deleted the folder 'Q3 contracts' on the shared drive by mistake yesterday around "
         "16:00. Can it be restored?",
         "Yesterday's snapshot has it; restoring now.",
         "Folder restored to its original place with all files."),
        ("Shared drive quota exceeded",
         "Our team drive is full and nobody can save files.",
         "Large video files take most of the space; can some move to the archive?",
         "Moved 120 GB of videos to the archive; the drive has room again."),
    ],
    "Purchase": [
        ("Order a new laptop for a new hire",
         "A new developer starts on the 1st. Please order the standard developer laptop.",
         "Order placed; delivery expected in 5 working days.",
         "Laptop delivered and set up for the first day."),
        ("Software licence purchase",
         "I need a licence for the diagram tool our customer uses.",
         "Your manager's approval is needed for this licence; I asked for it.",
         "Approved and assigned; the licence is active on your account."),
        ("Quote for two monitors",
         "Can we get a quote for two 27-inch monitors for the design team?",
         "Quote requested from our supplier.",
         "Quote attached to the purchase order, which your manager approved."),
    ],
    "Internal Project": [
        ("Project workspace setup",
         "We start the onboarding redesign project next week and need a project workspace and "
         "a channel for eight people.",
         "Workspace created; who should be the owners?",
         "Owners set and all eight members added."),
        ("Project board reports show no data",
         "The weekly report of our project board has been empty since Monday.",
         "The report's filter points to the old sprint field; fixing it.",
         "Report filter updated; this week's data shows again."),
    ],
    "Administrative rights": [
        ("Need admin rights to install software",
         "I need to install the database client for a customer project and it asks for an "
         "administrator password.",
         "We can install it for you remotely; when are you at your desk?",
         "Installed the database client; no admin rights were needed after all."),
        ("Local admin rights expired",
         "My temporary local admin rights expired yesterday but the migration work runs until "
         "the end of the month.",
         "Extension requested from your manager.",
         "Rights extended until the end of the month."),
    ],
}

FOLLOW_UPS = [
    "Thanks, I tried that but it still does the same thing.",
    "Here is a photo of the screen, hope it helps.",
    "It worked for an hour and now it is back.",
    "Sorry, I was in meetings. Yes, that is the one.",
]
REOPENS = [
    "It happened again this morning, same as before.",
    "Unfortunately the problem is back.",
]
SECOND_REPLIES = [
    "Thanks for the details, I am looking into it now.",
    "Understood, I am escalating this internally and will update you.",
    "Got it. I have applied a second fix; please check.",
]
NOTES = [
    "Same issue as last week on this floor, might be related.",
    "Customer is on a deadline, please keep priority.",
    "Checked the logs: nothing unusual on our side.",
]
RATING_COMMENTS = {5: "Quick and friendly, thank you!", 4: "Solved, took a bit long.",
                   3: "OK in the end.", 2: "Took too many back-and-forths.",
                   1: "Still not happy with this."}
