"""The numbers every sandbox account owns: two UK drama-range numbers, made on first use."""

from django.db.models import QuerySet

from voiceapps.models import ProviderAccount
from voiceapps.sandbox.models import SandboxNumber

SANDBOX_NUMBERS = ("447700900100", "447700900101")
COUNTRY = "GB"


def numbers_for(account: ProviderAccount) -> QuerySet[SandboxNumber]:
    """The account's numbers; an account seen for the first time gets its two."""
    for msisdn in SANDBOX_NUMBERS:
        SandboxNumber.objects.get_or_create(account=account, msisdn=msisdn,
                                            defaults={"country": COUNTRY})
    return SandboxNumber.objects.filter(account=account)
