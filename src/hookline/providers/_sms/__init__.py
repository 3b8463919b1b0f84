"""The SMS family kit: what every SMS gateway implements and shares.

The port the ``sms`` service talks to (:class:`SmsProvider`, :class:`OutboundSms`,
:class:`SendReceipt`), the shared send base, delivery-report normalising,
segments, samples and the simulated handsets of the simulators.
"""

from hookline.providers._sms.contract import OutboundSms, SendReceipt, SmsProvider
from hookline.providers._sms.sending import SmsClientBase

__all__ = ["OutboundSms", "SendReceipt", "SmsClientBase", "SmsProvider"]
