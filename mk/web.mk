# The web app (web/): npm dependencies from the committed lock file, a Vite build into
# web/dist (served by the twin, deployed by infra), vitest unit tests. The browser
# end-to-end test is Go (test/browser_test.go) and drives Debian's chromium.

APT_PACKAGES += chromium
DEPS_TARGETS += deps-web
TEST_TARGETS += test-web

.PHONY: deps-web build-web test-web

# npm ci only when the lock file changed since the last install.
web/node_modules/.package-lock.json: web/package-lock.json web/package.json
	cd web && npm ci --no-audit --no-fund
	@touch $@

deps-web: web/node_modules/.package-lock.json

build-web: web/node_modules/.package-lock.json
	cd web && npm run build

test-web: web/node_modules/.package-lock.json
	cd web && npx vitest run
