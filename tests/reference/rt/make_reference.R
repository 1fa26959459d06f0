# Reference outputs of EpiEstim::estimate_R (method "parametric_si") for phis.algorithms.epi.rt.
#
# Run from the repository root:
#     Rscript tests/reference/rt/make_reference.R
# Needs the Debian packages r-base-core and r-cran-epiestim (EpiEstim 2.2-4 was used).
# Writes, next to this script:
#   <dataset>.csv        input series in the `phis rt` format (date,count; mers also `imported`)
#   <case>_R.csv          EpiEstim's R table for one configuration (17 significant digits)
#   discr_si.csv          EpiEstim::discr_si for several (mean, sd) pairs, k = 0..40
#   cases.csv             one row per case: dataset, parameters, output file
# Public data sets bundled with EpiEstim: Flu2009, Flu1918, SARS2003, Measles1861, Smallpox1972,
# mers_2014_15. Data sets without dates (plain vectors) get synthetic consecutive dates from
# 2000-01-01; Flu2009 and mers_2014_15 keep their own dates. Simulated series come from a
# renewal process with a fixed seed.

suppressPackageStartupMessages(library(EpiEstim))

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_dir <- if (length(script)) dirname(normalizePath(script)) else "tests/reference/rt"

fmt <- function(x) ifelse(is.na(x), "", sprintf("%.17g", x))

write_input <- function(name, dates, count, imported = NULL) {
  df <- data.frame(date = format(as.Date(dates), "%Y-%m-%d"), count = as.integer(count))
  if (!is.null(imported)) df$imported <- as.integer(imported)
  write.csv(df, file.path(out_dir, paste0(name, ".csv")), row.names = FALSE, quote = FALSE)
}

cases <- list()

run_case <- function(case, dataset, incid, mean_si, std_si, window = 7,
                     mean_prior = 5, std_prior = 5) {
  T <- if (is.data.frame(incid)) nrow(incid) else length(incid)
  t_start <- seq(2, T - window + 1)
  t_end <- t_start + window - 1
  res <- suppressWarnings(suppressMessages(estimate_R(
    incid, method = "parametric_si",
    config = make_config(list(mean_si = mean_si, std_si = std_si, t_start = t_start,
                              t_end = t_end, mean_prior = mean_prior,
                              std_prior = std_prior))
  )))
  R <- res$R
  out <- data.frame(
    t_start = R$t_start, t_end = R$t_end,
    mean = fmt(R$`Mean(R)`), sd = fmt(R$`Std(R)`),
    q025 = fmt(R$`Quantile.0.025(R)`), q05 = fmt(R$`Quantile.0.05(R)`),
    q25 = fmt(R$`Quantile.0.25(R)`), q50 = fmt(R$`Median(R)`),
    q75 = fmt(R$`Quantile.0.75(R)`), q95 = fmt(R$`Quantile.0.95(R)`),
    q975 = fmt(R$`Quantile.0.975(R)`)
  )
  file <- paste0(case, "_R.csv")
  write.csv(out, file.path(out_dir, file), row.names = FALSE, quote = FALSE)
  cases[[length(cases) + 1]] <<- data.frame(
    case = case, dataset = dataset, mean_si = fmt(mean_si), std_si = fmt(std_si),
    window = window, mean_prior = fmt(mean_prior), std_prior = fmt(std_prior),
    output = file
  )
}

synthetic_dates <- function(n) seq(as.Date("2000-01-01"), by = "day", length.out = n)

# --- public data sets bundled with EpiEstim -------------------------------------------------
data("Flu2009", package = "EpiEstim")
flu09 <- Flu2009$incidence$I
write_input("flu2009", Flu2009$incidence$dates, flu09)
run_case("flu2009_default", "flu2009", flu09, mean_si = 2.6, std_si = 1.5)
run_case("flu2009_w14_prior", "flu2009", flu09, mean_si = 2.6, std_si = 1.5, window = 14,
         mean_prior = 1, std_prior = 2)
run_case("flu2009_w1", "flu2009", flu09, mean_si = 2.6, std_si = 1.5, window = 1)

data("Flu1918", package = "EpiEstim")
write_input("flu1918", synthetic_dates(length(Flu1918$incidence)), Flu1918$incidence)
run_case("flu1918_default", "flu1918", Flu1918$incidence, mean_si = 2.6, std_si = 1.5)

data("SARS2003", package = "EpiEstim")
write_input("sars2003", synthetic_dates(length(SARS2003$incidence)), SARS2003$incidence)
run_case("sars2003_default", "sars2003", SARS2003$incidence, mean_si = 8.4, std_si = 3.8)
run_case("sars2003_w10", "sars2003", SARS2003$incidence, mean_si = 8.4, std_si = 3.8,
         window = 10)

data("Measles1861", package = "EpiEstim")
write_input("measles1861", synthetic_dates(length(Measles1861$incidence)),
            Measles1861$incidence)
run_case("measles1861_default", "measles1861", Measles1861$incidence, mean_si = 14.9,
         std_si = 3.9)

data("Smallpox1972", package = "EpiEstim")
write_input("smallpox1972", synthetic_dates(length(Smallpox1972$incidence)),
            Smallpox1972$incidence)
run_case("smallpox1972_default", "smallpox1972", Smallpox1972$incidence, mean_si = 22.4,
         std_si = 6.1)

data("mers_2014_15", package = "EpiEstim")
mers <- mers_2014_15$incidence
write_input("mers_2014_15", mers[[1]], mers$local, mers$imported)
run_case("mers_2014_15_default", "mers_2014_15",
         data.frame(local = mers$local, imported = mers$imported),
         mean_si = mers_2014_15$si$mean_si, std_si = mers_2014_15$si$std_si)

# --- simulated series (renewal process) -----------------------------------------------------
simulate_renewal <- function(n, r_of_t, mean_si, std_si, seed, seed_cases = 5) {
  set.seed(seed)
  w <- discr_si(0:(n - 1), mean_si, std_si)
  inc <- numeric(n)
  inc[1] <- seed_cases
  for (t in 2:n) {
    lambda <- sum(w[2:t] * inc[(t - 1):1])
    inc[t] <- rpois(1, r_of_t(t) * lambda)
  }
  inc
}
sim1 <- simulate_renewal(120, function(t) if (t < 40) 1.8 else if (t < 80) 0.8 else 1.2,
                         mean_si = 4.8, std_si = 2.3, seed = 20240601)
write_input("sim_renewal", synthetic_dates(length(sim1)), sim1)
run_case("sim_renewal_default", "sim_renewal", sim1, mean_si = 4.8, std_si = 2.3)
run_case("sim_renewal_w21_prior", "sim_renewal", sim1, mean_si = 4.8, std_si = 2.3,
         window = 21, mean_prior = 2.5, std_prior = 1)
run_case("sim_renewal_w3", "sim_renewal", sim1, mean_si = 4.8, std_si = 2.3, window = 3)

set.seed(7)
sim2 <- c(rep(0, 10), rpois(50, 0.7), rep(0, 8), rpois(22, 3))
write_input("sim_sparse", synthetic_dates(length(sim2)), sim2)
run_case("sim_sparse_default", "sim_sparse", sim2, mean_si = 3.1, std_si = 0.9)
run_case("sim_sparse_w10", "sim_sparse", sim2, mean_si = 12.5, std_si = 8, window = 10)

write.csv(do.call(rbind, cases), file.path(out_dir, "cases.csv"), row.names = FALSE,
          quote = FALSE)

# --- discretised serial interval ------------------------------------------------------------
pairs <- list(c(2.6, 1.5), c(8.4, 3.8), c(14.9, 3.9), c(1.5, 0.4), c(4.8, 2.3), c(22.4, 6.1),
              c(6.48, 3.83), c(1.01, 5))
si_rows <- do.call(rbind, lapply(pairs, function(p) {
  data.frame(mean_si = fmt(p[1]), std_si = fmt(p[2]), k = 0:40,
             w = fmt(discr_si(0:40, p[1], p[2])))
}))
write.csv(si_rows, file.path(out_dir, "discr_si.csv"), row.names = FALSE, quote = FALSE)
cat("EpiEstim", as.character(packageVersion("EpiEstim")), "reference written to", out_dir, "\n")
