# The two README commands. Both install what is missing (scripts/setup.sh), then build.
#   make demo   — the main job on the embedded default (broker, orders with faults, pipeline, tables)
#   make test   — every test, normal build and ASan+UBSan build
.PHONY: demo test build docs clean
demo:
	scripts/demo.sh
test:
	scripts/test.sh
build:
	scripts/setup.sh
	cmake -S . -B build >/dev/null && cmake --build build -j
docs: build
	build/smelter help --markdown > docs/cli.md
	build/smelter help --config-markdown > docs/configuration.md
clean:
	rm -rf build build-asan
