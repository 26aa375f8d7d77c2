# The native tests of a C model, included by the model's Makefile after it sets MCP_SDK (the
# path to model-sdk/): `make test` builds the model's model.c and test_model.c with the mcp C
# library as a plain program (gcc), runs it, and removes it. The Wasm component is built by
# `cargo xtask build-model NAME`. `make test CFLAGS='-g -fsanitize=address,undefined'` adds
# run-time checks of memory and undefined behaviour.
CC = gcc
CFLAGS = -O2 -std=gnu17 -Wall -Wextra
SDK_C = $(MCP_SDK)/c

.PHONY: test

test:
	$(CC) $(CFLAGS) -I$(SDK_C) -o test_model test_model.c model.c $(SDK_C)/mcp_model.c -lm
	./test_model; status=$$?; rm -f test_model; exit $$status
