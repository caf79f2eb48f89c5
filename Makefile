# Keywarden. `make dev` runs a throw-away dev server; `make test` installs what the tests need and runs every test.
MVN ?= mvn
MVN_FLAGS ?= -B -ntp
JAR := kms-server/target/keywarden.jar
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: dev test build jar deps bench clean

dev: jar
	bin/keywarden server --dev

build jar: $(JAR)

$(JAR): $(shell find pom.xml */pom.xml proto/src */src/main -type f 2>/dev/null)
	$(MVN) $(MVN_FLAGS) -q -DskipTests install

# Unit tests (surefire) and end-to-end tests (failsafe *IT: real server, real CLI, SoftHSM2) in one run.
test: deps
	$(MVN) $(MVN_FLAGS) install

# SoftHSM2 for the PKCS#11 tests; OpenSC's pkcs11-tool and OpenSSL as clients nobody here wrote.
deps:
	@if ! command -v softhsm2-util >/dev/null || ! command -v pkcs11-tool >/dev/null \
	    || ! command -v openssl >/dev/null || [ ! -f /usr/lib/softhsm/libsofthsm2.so ]; then \
	  echo "Installing softhsm2, opensc and openssl (for the tests)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq softhsm2 opensc openssl >/dev/null; \
	fi
	@command -v java >/dev/null || { echo "a JDK 17+ is required"; exit 1; }
	@command -v $(MVN) >/dev/null || { echo "Maven is required"; exit 1; }

bench: jar
	java -jar benchmarks/target/benchmarks.jar $(BENCH)

clean:
	$(MVN) $(MVN_FLAGS) -q clean
