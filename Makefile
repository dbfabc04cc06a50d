# Daidaitong — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
WORKERS ?= 2
export FLASK_APP := app

.PHONY: run dev test test-sqlite test-mariadb install install-dev system-packages translations db demo clean android test-android

## make run: install, migrate the embedded SQLite database, load demo data if empty, serve with gunicorn
run: install translations db demo
	@echo "Daidaitong on http://127.0.0.1:$(PORT)  (Ctrl-C to stop)"
	$(BIN)/gunicorn --bind 127.0.0.1:$(PORT) --workers $(WORKERS) --access-logfile - "app:create_app()"

## make dev: the same with Flask's debug server (auto-reload)
dev: install translations db demo
	$(BIN)/flask run --debug --port $(PORT)

## make test: install what the tests need, build and test the Android app, then run the whole suite on SQLite, then on MariaDB with photos in SeaweedFS (S3)
test: install-dev test-android translations test-sqlite test-mariadb

PYTEST := $(BIN)/python -m pytest -n 2 -q -p no:cacheprovider

test-sqlite: translations
	$(PYTEST)

# Run once, above: tests/unit, the pure domain (no database: tests/unit/test_domain_purity.py), and the
# browser tests marked browser_side (what the page itself does; pytest.ini says which).
# The production pairing: MariaDB with photos in an S3 object store (a private SeaweedFS).
test-mariadb: translations
	scripts/mariadb-test-server.sh scripts/seaweedfs-test-server.sh env TEST_PHOTO_STORE=s3 \
	  $(PYTEST) --ignore=tests/unit -m "not browser_side"

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

install: $(VENV)/.installed-run
$(VENV)/.installed-run: requirements.txt | $(BIN)/activate
	$(BIN)/pip install -q -r requirements.txt
	touch $@

install-dev: system-packages $(VENV)/.installed-dev
system-packages:
	scripts/ensure-test-system-packages.sh
$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/activate
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.installed-run

## make android: the officer's Android app, a signed APK in android_wrapper/build/ (android_wrapper/README.md)
android:
	scripts/android-build.sh

## make test-android: build the APK, check its signature, alignment and manifest, run the JUnit tests
test-android:
	scripts/android-test.sh

translations:
	$(BIN)/pybabel compile -d app/translations --statistics 2>&1 | grep -v '^compiling' || true

db:
	$(BIN)/flask db upgrade

demo:
	$(BIN)/flask demo load --if-empty

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis
