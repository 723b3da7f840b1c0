/* Money as integer micro-units: 1 = 10^-6 of the currency unit (USD), so prices such as
 * $0.04048 per vCPU-hour are exact and totals add without binary floating-point rounding.
 * Quantities use the same scale (a monthly quantity of 1.5 GB is 1,500,000). */
#ifndef CRATIS_CAPABILITY_MONEY_H
#define CRATIS_CAPABILITY_MONEY_H

#include <stdbool.h>
#include <stdint.h>

#include "util/buf.h"

#define MONEY_SCALE 1000000

/* Parse a non-negative decimal such as "0.04048", "12", "1.5e-3" is refused: digits, at most
 * one '.', at most 6 decimals (a price needing more is expressed per a larger unit, such as
 * "1M requests"). *out gets the value in micro-units. Returns 0, or -1 for anything else (sign,
 * exponent, 7 or more decimals, empty, a value above 9,223,372,036,854 units). */
int money_parse(int64_t *out, const char *s);

/* A quantity computed by a formula as micro-units: an integer q exactly (q * 10^6), a double
 * rounded once to the nearest micro-unit (halves away from zero). Returns 0, or -1 when q is
 * negative, not finite, or too large (above 9.2e12). */
int money_from_int(int64_t *out, long long q);
int money_from_double(int64_t *out, double q);

/* *out = quantity * price, both in micro-units, as micro-units: the exact product divided by
 * 10^6 and rounded half up (both non-negative). Returns 0, or -1 on overflow of int64. */
int money_mul(int64_t *out, int64_t quantity, int64_t price);

/* *acc += v (either sign). Returns 0, or -1 on overflow (acc unchanged). */
int money_add(int64_t *acc, int64_t v);

/* Append v exactly as a decimal: sign when negative, then at least min_decimals decimals and
 * at most 6, trailing zeros beyond min_decimals dropped ("59.1", min 2: "59.10"; 40480 µ, min
 * 0: "0.04048"). */
void money_format(struct buf *b, int64_t v, int min_decimals);

/* Append v rounded half up (away from zero) to cents, with thousands separators: "1,234.57". */
void money_format_cents(struct buf *b, int64_t v);

#endif
