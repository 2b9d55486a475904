"""What the invoices app tells the apps above, without importing them."""

from django.dispatch import Signal

# Sent with `family_ids` when what these families owe changed (new invoices,
# a dispute opened or closed): payments decide whether a family's card
# payment is now blocked or unblocked, and tell it.
invoices_changed = Signal()

# Sent with `invoice_id` inside the transaction that issued a credit note on
# it, the invoice locked: payments take back off the invoice what its
# payments now cover beyond what it owes, as the family's credit.
invoice_credited = Signal()
