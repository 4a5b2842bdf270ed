terraform {
  required_providers {
    cfegress = {
      source = "cfegress/cfegress"
    }
  }
}

# Every argument is optional and may come from the environment instead:
# CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_BASE_URL.
# Without a token, the provider functions, the simulation data sources and
# plan-time validation still work; resources that read or write the account
# say that they need one.
provider "cfegress" {
  account_id = "0123456789abcdef0123456789abcdef"

  # Stay well inside Cloudflare's 1,200 requests per 5 minutes; 429s are
  # retried after Retry-After.
  requests_per_second = 4
  max_retries         = 4
}
