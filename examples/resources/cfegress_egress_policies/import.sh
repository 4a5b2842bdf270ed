# Import by account ID: the account's current egress rules are adopted in
# their order. The first apply after import makes no API write when the
# configuration matches them.
terraform import cfegress_egress_policies.this 0123456789abcdef0123456789abcdef
