# Reference outputs of R surveillance for the PHIS temporal detectors.
#
#   cd tests/reference/detect && Rscript make_reference.R
#
# Needs Debian packages r-base-core and r-cran-surveillance (made with R 4.2.2 and
# surveillance 1.20.3; the versions used are written to versions.txt).
# Writes:
#   series_<name>.csv   input series (date,count[,population]); dates are synthetic period
#                       starts: R gets the plain vector (epochAsDate = FALSE), so reference
#                       periods are taken by index, as `phis detect` does.
#   ref_<case>.csv      index (1-based), observed, threshold, alarm (1/0/NA) + extra columns
#   cases.csv           case, series, method, params (as `phis detect --param` strings, ';'-separated)
suppressMessages(library(surveillance))
set.seed(20240601)
options(warn = 1)

writeLines(c(R.version.string,
             paste("surveillance", as.character(packageVersion("surveillance")))),
           "versions.txt")

series <- list()
weekly_dates <- function(n) seq(as.Date("2010-01-04"), by = "7 days", length.out = n)
daily_dates <- function(n) seq(as.Date("2015-01-01"), by = "1 day", length.out = n)
add_series <- function(name, y, freq, pop = NULL) {
  dates <- if (freq == "weekly") weekly_dates(length(y)) else daily_dates(length(y))
  df <- data.frame(date = format(dates), count = as.integer(y))
  if (!is.null(pop)) df$population <- pop
  write.csv(df, paste0("series_", name, ".csv"), row.names = FALSE, quote = FALSE)
  series[[name]] <<- list(y = as.integer(y), freq = freq, dates = dates, pop = pop)
}

# ---- public data sets bundled with surveillance
data(salmNewport); add_series("salm_total", rowSums(observed(salmNewport)), "weekly")
add_series("salm_state", observed(salmNewport)[, 3], "weekly")
data(campyDE); add_series("campy", campyDE$case, "weekly")
data(stsNewport); add_series("sts_newport", observed(stsNewport)[, 1], "weekly")
data(salmonella.agona); add_series("agona", as.vector(salmonella.agona$observed), "weekly")
data(ha); add_series("ha", rowSums(ha$observed), "weekly")
data(shadar); add_series("shadar", as.vector(shadar$observed), "weekly")

# ---- simulated series
t <- 1:(6 * 365)
mu <- exp(0.8 + 0.6 * sin(2 * pi * t / 365) + 0.0002 * t)
y <- rnbinom(length(t), size = 4, mu = mu)
y[2000:2010] <- y[2000:2010] + rpois(11, 8)          # an outbreak inside the evaluated year
add_series("sim_daily", y, "daily")
pop <- round(50000 * (1 + 0.0001 * t))
add_series("sim_daily_pop", rpois(length(t), pop * 4e-5 * exp(0.4 * sin(2 * pi * t / 365))),
           "daily", pop)
tw <- 1:(10 * 52)
ys <- rpois(length(tw), 0.3 * exp(0.5 * cos(2 * pi * tw / 52)))
ys[480:484] <- ys[480:484] + c(2, 4, 6, 3, 1)
add_series("sim_sparse", ys, "weekly")
yz <- rep(0L, 200); yz[c(30, 31, 80, 120, 121, 122, 160)] <- c(1L, 3L, 1L, 2L, 5L, 1L, 4L)
yz[170:200] <- 2L                                      # constant run: sd = 0
add_series("sim_zero", yz, "daily")

# ---- cases
cases <- data.frame(case = character(), series = character(), method = character(),
                    params = character(), stringsAsFactors = FALSE)
out01 <- function(a) ifelse(is.na(a), NA, as.integer(a))
have <- function(case, sname, method, params) {
  # reuse an existing reference file unless FORCE=1 (the R runs take minutes)
  if (Sys.getenv("FORCE") != "1" && file.exists(paste0("ref_", case, ".csv"))) {
    cases[nrow(cases) + 1, ] <<- list(case, sname, method, param_string(params))
    return(TRUE)
  }
  FALSE
}
save_case <- function(case, sname, method, params, df) {
  write.csv(df, paste0("ref_", case, ".csv"), row.names = FALSE, quote = FALSE, na = "NA")
  cases[nrow(cases) + 1, ] <<- list(case, sname, method, params)
}
mk_sts <- function(s, pop = NULL) {
  f <- if (s$freq == "weekly") 52 else 365
  if (is.null(pop)) sts(observed = s$y, frequency = f, start = c(2010, 1))
  else sts(observed = s$y, frequency = f, start = c(2010, 1), population = pop)
}
param_string <- function(p) paste(names(p), unlist(p), sep = "=", collapse = ";")

# EARS
ears_case <- function(case, sname, method, ctrl, params) {
  if (have(case, sname, paste0("ears-", tolower(method)), params)) return(invisible())
  s <- series[[sname]]
  r <- earsC(mk_sts(s), control = c(list(method = method), ctrl))
  rng <- r@control$range
  df <- data.frame(index = rng, observed = s$y[rng], threshold = upperbound(r)[, 1],
                   alarm = out01(r@alarm[, 1]))
  save_case(case, sname, paste0("ears-", tolower(method)), param_string(params), df)
}
for (sname in c("sim_daily", "sim_zero", "salm_state", "campy")) {
  for (m in c("C1", "C2", "C3")) {
    ears_case(paste0("ears_", tolower(m), "_", sname), sname, m, list(), list())
  }
}
ears_case("ears_c1_minsigma", "sim_zero", "C1", list(minSigma = 1, alpha = 0.05),
          list(minSigma = 1, alpha = 0.05))
ears_case("ears_c2_baseline10", "sim_daily", "C2", list(baseline = 10, alpha = 0.01),
          list(baseline = 10, alpha = 0.01))
ears_case("ears_c3_minsigma", "sim_zero", "C3", list(minSigma = 0.5),
          list(minSigma = 0.5))
ears_case("ears_c3_baseline5", "salm_state", "C3", list(baseline = 5, alpha = 0.01),
          list(baseline = 5, alpha = 0.01))

# Farrington flexible
farr_case <- function(case, sname, ctrl, params, method = "farrington", pop = FALSE) {
  if (have(case, sname, method, params)) return(invisible())
  s <- series[[sname]]
  x <- mk_sts(s, if (pop) matrix(s$pop, ncol = 1) else NULL)
  r <- farringtonFlexible(x, control = ctrl)
  rng <- (length(s$y) - nrow(r@observed) + 1):length(s$y)
  df <- data.frame(index = rng, observed = s$y[rng], threshold = upperbound(r)[, 1],
                   alarm = out01(r@alarm[, 1]), expected = r@control$expected[, 1],
                   score = r@control$score[, 1], pvalue = r@control$pvalue[, 1],
                   phi = r@control$phiVector[, 1], trend = r@control$trendVector[, 1])
  save_case(case, sname, method, param_string(params), df)
}
nouf <- list(noPeriods = 10, pastWeeksNotIncluded = 26, thresholdMethod = "nbPlugin")
for (sname in c("salm_total", "salm_state", "campy", "sts_newport", "agona", "ha", "shadar",
                "sim_sparse")) {
  farr_case(paste0("farrington_", sname), sname, list(), list())
  farr_case(paste0("noufaily_", sname), sname, nouf, list(), "farrington-noufaily")
}
farr_case("noufaily_muan_campy", "campy", modifyList(nouf, list(thresholdMethod = "muan")),
          list(thresholdMethod = "muan"), "farrington-noufaily")
farr_case("noufaily_muan_sparse", "sim_sparse",
          modifyList(nouf, list(thresholdMethod = "muan", alpha = 0.01)),
          list(thresholdMethod = "muan", alpha = 0.01), "farrington-noufaily")
farr_case("farrington_noreweight_notrend", "salm_total",
          list(reweight = FALSE, trend = FALSE, alpha = 0.01),
          list(reweight = "false", trend = "false", alpha = 0.01))
farr_case("farrington_b3w2_half", "campy",
          list(b = 3, w = 2, powertrans = "1/2", weightsThreshold = 1, pThresholdTrend = 1),
          list(b = 3, w = 2, powertrans = "1/2", weightsThreshold = 1, pThresholdTrend = 1))
farr_case("farrington_none_limit", "sts_newport",
          list(powertrans = "none", limit54 = c(3, 2), pastWeeksNotIncluded = 1),
          list(powertrans = "none", limit54 = "3,2", pastWeeksNotIncluded = 1))
farr_case("farrington_noperiods4", "salm_total",
          list(noPeriods = 4, pastWeeksNotIncluded = 8),
          list(noPeriods = 4, pastWeeksNotIncluded = 8))
farr_case("farrington_daily", "sim_daily", list(b = 5, w = 3), list())
farr_case("noufaily_daily", "sim_daily", nouf, list(), "farrington-noufaily")
farr_case("farrington_daily_pop", "sim_daily_pop",
          list(b = 5, w = 3, populationOffset = TRUE),
          list(populationOffset = "true"), pop = TRUE)

# CUSUM (algo.cusum on the disProg object; range = after the first year)
cusum_case <- function(case, sname, ctrl, params) {
  if (have(case, sname, "cusum", params)) return(invisible())
  s <- series[[sname]]
  f <- if (s$freq == "weekly") 52 else 365
  dp <- sts2disProg(mk_sts(s))
  rng <- (f + 1):length(s$y)
  r <- algo.cusum(dp, control = c(list(range = rng), ctrl))
  df <- data.frame(index = rng, observed = s$y[rng], threshold = as.vector(r$upperbound),
                   alarm = out01(as.vector(r$alarm)), statistic = as.vector(r$cusum))
  save_case(case, sname, "cusum", param_string(params), df)
}
cusum_case("cusum_standard_campy", "campy", list(), list())
cusum_case("cusum_rossi_salm", "salm_total", list(trans = "rossi", k = 0.5, h = 4),
           list(trans = "rossi", k = 0.5, h = 4))
cusum_case("cusum_anscombe_sparse", "sim_sparse", list(trans = "anscombe"),
           list(trans = "anscombe"))
cusum_case("cusum_anscombe2nd_shadar", "shadar", list(trans = "anscombe2nd", h = 3),
           list(trans = "anscombe2nd", h = 3))
cusum_case("cusum_pearsonnb_agona", "agona", list(trans = "pearsonNegBin", alpha = 0.2),
           list(trans = "pearsonNegBin", alpha = 0.2))
cusum_case("cusum_none_ha", "ha", list(trans = "none", k = 5, h = 20),
           list(trans = "none", k = 5, h = 20))
cusum_case("cusum_glm_salm", "salm_total", list(m = "glm"), list(m = "glm"))
cusum_case("cusum_daily", "sim_daily", list(m = 3), list(m = 3))

# GLR (algo.glrnb / glrpois on the disProg object; range = after the first year)
glr_case <- function(case, sname, ctrl, params) {
  if (have(case, sname, "glrnb", params)) return(invisible())
  s <- series[[sname]]
  f <- if (s$freq == "weekly") 52 else 365
  dp <- sts2disProg(mk_sts(s))
  rng <- (f + 1):length(s$y)
  r <- suppressMessages(algo.glrnb(dp, control = c(list(range = rng), ctrl)))
  df <- data.frame(index = rng, observed = s$y[rng], threshold = as.vector(r$upperbound),
                   alarm = out01(as.vector(r$alarm)), expected = as.vector(r$control$mu0))
  save_case(case, sname, "glrnb", param_string(params), df)
}
glr_case("glrnb_campy", "campy", list(), list())
glr_case("glrnb_salm_alpha", "salm_total", list(alpha = 0.1, c.ARL = 3, mu0 = list(S = 2)),
         list(alpha = 0.1, c.ARL = 3, S = 2))
glr_case("glrpois_sparse", "sim_sparse", list(alpha = 0, mu0 = list(trend = TRUE)),
         list(alpha = 0, mu0.trend = "true"))
glr_case("glrpois_cases_shadar", "shadar", list(alpha = 0, ret = "cases", c.ARL = 4),
         list(alpha = 0, ret = "cases", c.ARL = 4))
glr_case("glrnb_window_agona", "agona", list(alpha = 0.3, M = 20, c.ARL = 4),
         list(alpha = 0.3, M = 20, c.ARL = 4))

write.csv(cases, "cases.csv", row.names = FALSE, quote = TRUE)
cat("wrote", nrow(cases), "cases\n")
