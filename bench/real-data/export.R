# Writes R's bundled datasets as the files RnnService takes: monthly series as time-series CSV.
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) > 0) args[1] else "."
monthly <- function(series, column) {
  months <- seq(as.Date(sprintf("%d-%02d-01", start(series)[1], start(series)[2])), by = "month", length.out = length(series))
  frame <- data.frame(month = format(months, "%Y-%m"), value = as.numeric(series))
  names(frame)[2] <- column
  frame
}
write.csv(monthly(AirPassengers, "passengers"), file.path(out, "air-passengers.csv"), row.names = FALSE)
write.csv(monthly(co2, "co2"), file.path(out, "co2.csv"), row.names = FALSE)
write.csv(monthly(nottem, "temperature"), file.path(out, "nottingham-temperature.csv"), row.names = FALSE)
write.csv(monthly(UKDriverDeaths, "deaths"), file.path(out, "uk-driver-deaths.csv"), row.names = FALSE)
