terraform {
  required_providers {
    cfegress = {
      source = "cfegress/cfegress"
    }
  }
}

# Every argument is optional and may come from the environment instead:
# CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_BASE_URL and
# CFEGRESS_REQUESTS_PER_5_MINUTES.
# Without a token, the provider functions, the simulation data sources and
# plan-time validation still work; resources that read or write the account
# say that they need one.
provider "cfegress" {
  account_id = "0123456789abcdef0123456789abcdef"

  # Cloudflare allows 1,200 requests per 5 minutes per user, dashboard
  # included, and blocks every call for 5 minutes past it. The provider keeps
  # to a sliding-window budget (600 by default) that allows bursts; a 429 is
  # waited out (Retry-After) within the resource's timeouts.
  requests_per_5_minutes = 600
  max_retries            = 4
}
