#!/usr/bin/env bash
# The Debian packages the test suite needs: Chromium (browser tier), a Java runtime (Apache
# Spark tier) and R with the survey, MASS and sandwich packages (weighting and DiD cross-checks). Installed when missing
# and we are root; otherwise we say exactly what to install and stop.
set -euo pipefail

need=()
# Fonts too: without recommends, Chromium would have none to draw text in screenshots.
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need+=(chromium fonts-liberation fonts-dejavu-core)
command -v java >/dev/null 2>&1 || need+=(default-jre-headless)
# survey's calibrate() with bounds needs MASS, which Debian packages separately.
if ! command -v Rscript >/dev/null 2>&1; then
  need+=(r-base-core r-cran-survey r-cran-mass r-cran-sandwich)
else
  Rscript -e 'quit(status = !requireNamespace("survey", quietly = TRUE))' >/dev/null 2>&1 || need+=(r-cran-survey)
  Rscript -e 'quit(status = !requireNamespace("MASS", quietly = TRUE))' >/dev/null 2>&1 || need+=(r-cran-mass)
  # sandwich's vcovCL cross-checks the value account's person-clustered DiD errors.
  Rscript -e 'quit(status = !requireNamespace("sandwich", quietly = TRUE))' >/dev/null 2>&1 || need+=(r-cran-sandwich)
fi

[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  echo "Installing from Debian: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
else
  echo "The tests need these Debian packages: ${need[*]}"
  echo "Install them with:  sudo apt-get install ${need[*]}"
  exit 1
fi
