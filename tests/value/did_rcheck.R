# Independent check of joinedup.value.did: OLS with lm() and person-clustered errors with
# sandwich::vcovCL(type = "HC1", cadjust = TRUE), i.e. G/(G-1) * (N-1)/(N-K).
# Usage: Rscript did_rcheck.R <panel.csv> <out.csv>
suppressPackageStartupMessages(library(sandwich))
args <- commandArgs(trailingOnly = TRUE)
panel <- read.csv(args[1], stringsAsFactors = FALSE)
did <- lm(y ~ treated + post + treated:post, data = panel)
v_did <- vcovCL(did, cluster = ~person_id, type = "HC1", cadjust = TRUE)
programme <- panel[panel$treated == 1, ]
ba <- lm(y ~ post, data = programme)
v_ba <- vcovCL(ba, cluster = ~person_id, type = "HC1", cadjust = TRUE)
out <- data.frame(
  model = c("did", "before_after"),
  estimate = c(coef(did)[["treated:post"]], coef(ba)[["post"]]),
  se = c(sqrt(v_did["treated:post", "treated:post"]), sqrt(v_ba["post", "post"]))
)
write.csv(out, args[2], row.names = FALSE)
