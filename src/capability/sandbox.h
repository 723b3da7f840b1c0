/* A Lua 5.4 sandbox for the formulas of cost models (docs/capabilities.md, "Cost models"): an
 * expression is compiled once as text (never bytecode) and evaluated in a fresh environment
 * that holds only the values given and the math, string and table libraries with a few safe
 * base functions; io, os, require, load, dofile, debug and package are absent. Each evaluation
 * runs under an instruction-count limit and the state under a memory limit, so a runaway
 * formula stops with an error instead of hanging or exhausting memory. */
#ifndef CRATIS_CAPABILITY_SANDBOX_H
#define CRATIS_CAPABILITY_SANDBOX_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Defaults: VM instructions per evaluation, and bytes the whole state may hold. */
#define SANDBOX_DEFAULT_INSTRUCTIONS 1000000
#define SANDBOX_DEFAULT_MEMORY (16u << 20)

struct sandbox;

/* Create a sandbox whose evaluations may run at most max_instructions VM instructions (counted
 * in steps of 1,000; 0: SANDBOX_DEFAULT_INSTRUCTIONS) and whose state may hold at most
 * max_memory bytes (0: SANDBOX_DEFAULT_MEMORY). *out is the sandbox (free with sandbox_free),
 * NULL when Lua could not allocate its state. Returns 0 or -1. */
int sandbox_new(struct sandbox **out, long max_instructions, size_t max_memory);
void sandbox_free(struct sandbox *s);

/* Compile expression expr (text, evaluated as `return (expr)`) named chunkname in messages.
 * Returns a handle >= 0 for sandbox_eval, or -1 with *err set to the syntax error (owned by
 * the caller, free it). A handle stays valid until the sandbox is freed. */
int sandbox_compile(struct sandbox *s, const char *expr, const char *chunkname, char **err);

/* Evaluate compiled expression fn with the globals of env: each member of the JSON object env
 * (may be NULL) becomes a global; nested objects become tables, arrays sequences (1-based),
 * null nil; `hours` (730, hours in a month) is set unless env has it; math, string, table and
 * the safe base functions (tonumber, tostring, type, pairs, ipairs, select, error, assert,
 * pcall, next, rawequal, rawlen, rawget) are there. The globals are fresh on each call:
 * assignments do not leak into the next evaluation. On success *out is the value (a new JSON
 * reference: integer, real, string, boolean or null for nil; tables are refused) and 0 is
 * returned. On an error raised by the expression, a runtime error (calling nil: `os`, `io`),
 * more instructions than the limit, or more memory than the limit, returns -1 with *err set
 * (owned by the caller) to Lua's message or "formula ran more than N instructions" / "formula
 * needs more than N bytes". */
int sandbox_eval(struct sandbox *s, int fn, const json_t *env, json_t **out, char **err);

#endif
