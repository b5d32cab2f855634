# Rake the shipped test dataset with R's survey package and write weights and estimates.
# Called by tests/surveys/test_weighting_rcheck.py: Rscript rcheck.R DATA_DIR OUT_DIR
suppressPackageStartupMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
data_dir <- args[1]
out_dir <- args[2]
d <- read.csv(file.path(data_dir, "rcheck_responses.csv"), stringsAsFactors = FALSE,
              na.strings = "")
m <- read.csv(file.path(data_dir, "rcheck_margins.csv"), stringsAsFactors = FALSE)
d$age_sex <- paste(d$age_band, d$sex)
d$w0 <- 1
# A 0/1 outcome without NA: a subset of a raked design keeps every row for the variance.
d$answered <- !is.na(d$ind)
d$yes <- as.numeric(d$answered & d$ind == "yes")
des <- svydesign(ids = ~1, weights = ~w0, data = d)
pop_age_sex <- data.frame(age_sex = m$level[m$variable == "age_sex"],
                          Freq = m$total[m$variable == "age_sex"])
pop_area <- data.frame(area = m$level[m$variable == "area"],
                       Freq = m$total[m$variable == "area"])
raked <- rake(des, list(~age_sex, ~area), list(pop_age_sex, pop_area),
              control = list(maxit = 1000, epsilon = 1e-13))
write.csv(data.frame(id = d$id, weight = weights(raked)),
          file.path(out_dir, "r_weights.csv"), row.names = FALSE)
base <- subset(raked, answered)
overall <- svymean(~yes, base)
by_area <- svyby(~yes, ~area, base, svymean)
est <- data.frame(
  group = c("all", as.character(by_area$area)),
  est = c(coef(overall)[1], by_area$yes),
  se = c(SE(overall)[1], by_area$se)
)
write.csv(est, file.path(out_dir, "r_estimates.csv"), row.names = FALSE)

# Bounded raking: R's calibrate() with the raking calibration function truncated at the
# bounds, from starting weights N / n (the mean weight). args[3] is a CSV of each
# respondent's bounds on g = weight / starting weight (id, lower, upper; lower -Inf where
# there is none) that the Python side found for its cap, args[4] a suffix for the output
# files. R solves the bounded raking itself; the same weights then give the same estimates.
if (length(args) >= 4) {
  bounds_file <- read.csv(args[3])
  suffix <- args[4]
  b <- bounds_file[match(d$id, bounds_file$id), ]
  total <- sum(pop_age_sex$Freq)
  d$w_mean <- total / nrow(d)
  d$age_sex <- factor(d$age_sex, levels = pop_age_sex$age_sex)
  d$area <- factor(d$area, levels = pop_area$area)
  des_mean <- svydesign(ids = ~1, weights = ~w_mean, data = d)
  population <- c(`(Intercept)` = total,
                  setNames(pop_age_sex$Freq[-1], paste0("age_sex", pop_age_sex$age_sex[-1])),
                  setNames(pop_area$Freq[-1], paste0("area", pop_area$area[-1])))
  bounded <- calibrate(des_mean, ~age_sex + area, population, calfun = "raking",
                       bounds = list(lower = b$lower, upper = b$upper), maxit = 1000,
                       epsilon = 1e-13)
  write.csv(data.frame(id = d$id, weight = weights(bounded)),
            file.path(out_dir, paste0("r_weights_", suffix, ".csv")), row.names = FALSE)
  base <- subset(bounded, answered)
  overall <- svymean(~yes, base)
  by_area <- svyby(~yes, ~area, base, svymean)
  write.csv(data.frame(group = c("all", as.character(by_area$area)),
                       est = c(coef(overall)[1], by_area$yes),
                       se = c(SE(overall)[1], by_area$se)),
            file.path(out_dir, paste0("r_estimates_", suffix, ".csv")), row.names = FALSE)
}
