"""What each audit action means, in plain words, by the kind of thing it is about.

The audit log's Action filter offers these (a whole kind as `call.`, or one action); an entry
shows its label. Features record their actions by name (`portal` imports no feature), so the
names are written here; tests/portal/test_audit_actions.py checks every name recorded in the
code has its label.
"""

from __future__ import annotations

# kind: (label of the kind, {action: label})
KINDS: dict[str, tuple[str, dict[str, str]]] = {
    "account": ("Provider accounts", {
        "account.create": "Account added",
        "account.update": "Account changed",
        "account.check": "Account connection tested",
        "account.regenerate_webhook_token": "Account webhook address changed",
        "account.retire": "Account retired",
        "account.reactivate": "Account brought back",
        "account.delete": "Account deleted",
    }),
    "application": ("Applications", {
        "application.create": "Application added",
        "application.update": "Application changed",
        "application.import": "Application imported from the provider",
        "application.push": "Application sent to the provider",
        "application.generate_keypair": "Application key pair made",
        "application.set_private_key": "Application private key set",
        "application.delete": "Application deleted",
    }),
    "number": ("Numbers", {
        "number.create": "Number added",
        "number.update": "Number changed",
        "number.import": "Numbers imported from the provider",
        "number.link": "Number linked to an application",
        "number.delete": "Number deleted",
    }),
    "ncco": ("Call flows (NCCO documents)", {
        "ncco.create": "Call flow added",
        "ncco.update": "Call flow changed",
        "ncco.restore": "Call flow version restored",
        "ncco.delete": "Call flow deleted",
    }),
    "call": ("Calls", {
        "call.place": "Call placed",
        "call.hangup": "Call hung up",
        "call.mute": "Call muted",
        "call.unmute": "Call unmuted",
        "call.earmuff": "Call earmuffed (the callee hears nothing)",
        "call.unearmuff": "Call unearmuffed",
        "call.transfer": "Call transferred",
        "call.talk": "Text spoken into a call",
        "call.talk_stop": "Speaking stopped",
        "call.stream": "Audio played into a call",
        "call.stream_stop": "Audio stopped",
        "call.dtmf": "Digits sent (DTMF)",
        "call.listen_pause": "Audio stream paused",
        "call.listen_silence": "Audio stream silenced",
        "call.listen_resume": "Audio stream resumed",
    }),
    "call_profile": ("Call profiles", {
        "call_profile.create": "Call profile added",
        "call_profile.update": "Call profile changed",
        "call_profile.delete": "Call profile deleted",
    }),
    "campaign": ("Campaigns", {
        "campaign.create": "Campaign added",
        "campaign.import": "Campaign imported from a file",
        "campaign.copy": "Campaign copied",
        "campaign.update": "Campaign changed",
        "campaign.contacts_add": "Contacts added to a campaign",
        "campaign.start": "Campaign started",
        "campaign.pause": "Campaign paused",
        "campaign.resume": "Campaign resumed",
        "campaign.stop": "Campaign stopped",
        "campaign.delete": "Campaign deleted",
    }),
    "suppression_list": ("Do-not-call lists", {
        "suppression_list.create": "Do-not-call list added",
        "suppression_list.add": "Numbers added to a do-not-call list",
        "suppression_list.remove": "Numbers removed from a do-not-call list",
        "suppression_list.opt_out": "Callee opted out during a call",
    }),
    "recording": ("Recordings", {
        "recording.delete": "Recording deleted",
        "recording.expire": "Recording deleted by retention",
        "recording.provider_delete": "Recording deleted at the provider",
    }),
    "forwarding": ("Event forwarding", {
        "forwarding.create": "Subscription added",
        "forwarding.update": "Subscription changed",
        "forwarding.secret": "Subscription signing secret changed",
        "forwarding.disable": "Subscription disabled",
        "forwarding.enable": "Subscription enabled",
        "forwarding.replay": "Events sent again",
        "forwarding.delete": "Subscription deleted",
    }),
    "webhook_delivery": ("Provider webhooks", {
        "webhook_delivery.replay": "Provider webhook applied again",
    }),
    "alert_rule": ("Alert rules", {
        "alert_rule.create": "Alert rule added",
        "alert_rule.update": "Alert rule changed",
        "alert_rule.delete": "Alert rule deleted",
    }),
    "alert_channel": ("Alert channels", {
        "alert_channel.create": "Alert channel added",
        "alert_channel.update": "Alert channel changed",
        "alert_channel.test": "Alert channel tested",
        "alert_channel.delete": "Alert channel deleted",
    }),
    "user": ("Users", {
        "user.create": "User added",
        "user.update": "User changed",
        "user.password_change": "Password changed",
        "user.password_reset_request": "Password reset asked for",
        "user.password_reset_refused": "Password reset refused: asked too often",
        "user.password_reset": "Password reset",
        "user.2fa_enrol": "Two-factor sign-in set up",
        "user.2fa_recovery_codes": "New two-factor recovery codes",
        "user.2fa_reset": "Two-factor sign-in reset",
        "user.sign_out_everywhere": "Signed out everywhere",
        "user.sign_out_session": "Signed out one session",
        "user.sso_link": "Company sign-in linked (single sign-on)",
        "user.sso_unlink": "Company sign-in unlinked (single sign-on)",
    }),
    "login": ("Sign-in", {
        "login.failed": "Sign-in failed",
        "login.locked": "Sign-in locked after failures",
        "login.unlock": "Sign-in unlocked",
        "login.sso_failed": "Single sign-on failed",
    }),
    "api_token": ("API tokens", {
        "api_token.create": "API token created",
        "api_token.revoke": "API token revoked",
    }),
    "retention": ("Data retention", {
        "retention.update": "Call data retention changed",
    }),
    "recording_retention": ("Recording retention", {
        "recording_retention.update": "Recording retention changed",
    }),
    "security_policy": ("Security policy", {
        "security_policy.update": "Security policy changed",
    }),
    "setup": ("First-run setup", {
        "setup.complete": "First administrator created",
    }),
}

LABELS: dict[str, str] = {
    action: label for _, actions in KINDS.values() for action, label in actions.items()
}


def action_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The filter's choices, grouped by kind: first the whole kind (`call.`), then each action."""
    return [
        (kind_label, [(f"{kind}.", f"{kind_label}: any action"), *actions.items()])
        for kind, (kind_label, actions) in KINDS.items()
    ]
