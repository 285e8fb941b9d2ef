# Sourced by check_clinicadl.sh and check_clinicadl_3d.sh: the ClinicaDL 1.6.1 virtual
# environment at $VENV, installed there when it has no clinicadl yet (torch first, so pip keeps
# it; torchvision 0.16.2 declares torch==2.1.2, hence --no-deps), and `quiet`, a filter that
# drops ClinicaDL's warning lines.
if [ ! -x "$VENV/bin/clinicadl" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q torch==2.13.0
    "$VENV/bin/pip" install -q clinicadl==1.6.1 "scipy<1.15" "setuptools<81"
    "$VENV/bin/pip" install -q --no-deps torchvision==0.16.2
fi
echo "ClinicaDL: $("$VENV/bin/pip" show clinicadl | grep ^Version)"
quiet() { grep -iv 'warn\|import \|pynvml\|pkg_resources\|^\s*$' || true; }
