# Every colo of the catalog.
data "cfegress_colos" "all" {}

# Cloudflare's colos in Mexico: GDL, MEX, QRO.
data "cfegress_colos" "mexico" {
  country = "MX"
}

data "cfegress_colos" "oceania" {
  continent = "OC"
}

output "mexican_colos" {
  value = data.cfegress_colos.mexico.codes
}
