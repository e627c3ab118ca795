# Writes six monthly series bundled with R (datasets package) as two-column CSV files: month, value.
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) > 0) args[1] else "."
series <- list(
  "air-passengers" = AirPassengers, "us-accidental-deaths" = USAccDeaths, "co2" = co2, "nottingham-temperature" = nottem,
  "uk-driver-deaths" = UKDriverDeaths, "uk-lung-deaths" = ldeaths)
for (name in names(series)) {
  s <- series[[name]]
  months <- seq(as.Date(sprintf("%d-%02d-01", start(s)[1], start(s)[2])), by = "month", length.out = length(s))
  write.csv(data.frame(month = format(months, "%Y-%m"), value = as.numeric(s)), file.path(out, paste0(name, ".csv")), row.names = FALSE)
}
