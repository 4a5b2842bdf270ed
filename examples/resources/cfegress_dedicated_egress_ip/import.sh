# Import by "ipv4,ipv6_range,colo".
terraform import cfegress_dedicated_egress_ip.tokyo "203.0.113.10,2001:db8:10::/64,NRT"
