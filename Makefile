# Two commands matter (see README.md):  make run   and   make test
# Both set up everything they need on a fresh Debian/Ubuntu machine, then run.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Debian packages: Qt's runtime libraries (offscreen and xcb), a virtual display for
# screenshots, the real servers the tests talk to, strace for the privacy test and binutils
# (objdump) for the installers.
DEB_PACKAGES := \
	libegl1 libgl1 libopengl0 libfontconfig1 libfreetype6 libdbus-1-3 libglib2.0-0 \
	libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 \
	libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 \
	libxcb-xkb1 libx11-xcb1 xvfb xauth fonts-dejavu-core \
	rclone postgresql strace binutils

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test setup system-deps model lint bench dist-linux dist-linux-gpu dist-windows dist-macos

run: setup model
	@$(BIN)/draftsmith $(ARGS)

test: setup model lint
	QT_QPA_PLATFORM=offscreen PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring \
		$(BIN)/python -m pytest $(PYTEST_ARGS)

setup: system-deps $(STAMP)

system-deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:" $$missing; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[export,dev,server]'
	@touch $(STAMP)

# Builds the default model into the user's model cache; instant once built.
model: $(STAMP)
	@$(BIN)/draftsmith-model build --quiet-if-cached

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy atomic_write desktop inference licensing

bench: setup model
	$(BIN)/python benchmarks/generation_vs_llamacpp.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python benchmarks/editor_startup.py

# Installers (README "Install"). TEST_BUILD=1 allows the development license key; a release
# build refuses it (installer/release_check.py). MODEL=DIR bundles that built model folder
# instead of the default model (installer/bundle_model.py).
BUNDLE_MODEL = $(if $(MODEL),DRAFTSMITH_BUNDLE_MODEL=$(abspath $(MODEL)))
DIST_ENV = PYTHONPATH=$(CURDIR) $(if $(TEST_BUILD),DRAFTSMITH_TEST_BUILD=1) $(BUNDLE_MODEL)
DIST_MODEL = $(if $(MODEL),,model)  # the default model is built only when it is bundled
PYINSTALLER = $(BIN)/pyinstaller --noconfirm --log-level WARN installer/draftsmith.spec

# The CPU bundle (onnxruntime's CUDA provider left out): .deb and portable .tar.gz in dist/.
dist-linux: setup $(DIST_MODEL)
	$(DIST_ENV) $(BIN)/python installer/release_check.py
	$(DIST_ENV) $(PYINSTALLER) --distpath dist --workpath build/pyinstaller
	$(DIST_ENV) $(BIN)/python installer/linux/package.py dist/draftsmith dist
	$(BIN)/python installer/scan_artefacts.py dist/draftsmith_*.deb dist/draftsmith-*-linux-*.tar.gz

# The GPU bundle: also carries onnxruntime's CUDA provider; NVIDIA's CUDA and cuDNN libraries
# come from the writer's system. Artefacts in dist/gpu/.
dist-linux-gpu: setup $(DIST_MODEL)
	$(DIST_ENV) $(BIN)/python installer/release_check.py
	$(DIST_ENV) DRAFTSMITH_BUNDLE_GPU=1 $(PYINSTALLER) --distpath dist/gpu --workpath build/pyinstaller-gpu
	$(DIST_ENV) $(BIN)/python installer/linux/package.py dist/gpu/draftsmith dist/gpu --work build/linux-gpu
	$(BIN)/python installer/scan_artefacts.py dist/gpu/*.deb dist/gpu/*.tar.gz

# On Windows (PowerShell) and macOS only: see the scripts' headers.
dist-windows:
	$(BUNDLE_MODEL) powershell -ExecutionPolicy Bypass -File installer/windows/build.ps1 $(if $(TEST_BUILD),-TestBuild)

dist-macos:
	$(DIST_ENV) installer/macos/build.sh
