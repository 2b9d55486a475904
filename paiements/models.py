# Payments (rules, card and desk payments) arrive with the payments issue.
