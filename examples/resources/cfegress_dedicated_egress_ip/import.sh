# Import by "ipv4,ipv6_range,colo" (append ",byoip" for a BYOIP address).
terraform import cfegress_dedicated_egress_ip.tokyo "203.0.113.10,2001:db8:10::/64,NRT"
terraform import cfegress_dedicated_egress_ip.own_prefix "198.51.100.10,2001:db8:77::/64,NRT,byoip"
