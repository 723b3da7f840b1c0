/* Integer micro-unit money: parsing, rounding once from a formula's number, products and
 * formatting (money.h). */
#define _GNU_SOURCE
#include "money.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

int money_parse(int64_t *out, const char *s)
{
	if (!s || !*s)
		return -1;
	int64_t units = 0, frac = 0;
	int decimals = 0;
	bool dot = false, digits = false;
	for (const char *p = s; *p; p++) {
		if (*p == '.' && !dot) {
			dot = true;
			continue;
		}
		if (*p < '0' || *p > '9')
			return -1;
		digits = true;
		if (dot) {
			if (++decimals > 6)
				return -1;
			frac = frac * 10 + (*p - '0');
		} else {
			if (units > (INT64_MAX / MONEY_SCALE) / 10)
				return -1;
			units = units * 10 + (*p - '0');
		}
	}
	if (!digits || units > INT64_MAX / MONEY_SCALE - 1)
		return -1;
	for (; decimals < 6; decimals++)
		frac *= 10;
	*out = units * MONEY_SCALE + frac;
	return 0;
}

int money_from_int(int64_t *out, long long q)
{
	if (q < 0 || q > INT64_MAX / MONEY_SCALE)
		return -1;
	*out = (int64_t)q * MONEY_SCALE;
	return 0;
}

int money_from_double(int64_t *out, double q)
{
	if (!isfinite(q) || q < 0 || q > 9.2e12)
		return -1;
	*out = (int64_t)llround(q * MONEY_SCALE);
	return 0;
}

int money_mul(int64_t *out, int64_t quantity, int64_t price)
{
	if (quantity < 0 || price < 0)
		return -1;
	__int128 p = (__int128)quantity * price;
	p = (p + MONEY_SCALE / 2) / MONEY_SCALE;
	if (p > INT64_MAX)
		return -1;
	*out = (int64_t)p;
	return 0;
}

int money_add(int64_t *acc, int64_t v)
{
	int64_t r;
	if (__builtin_add_overflow(*acc, v, &r))
		return -1;
	*acc = r;
	return 0;
}

void money_format(struct buf *b, int64_t v, int min_decimals)
{
	uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	if (v < 0)
		buf_addch(b, '-');
	buf_addf(b, "%llu", (unsigned long long)(a / MONEY_SCALE));
	char frac[8];
	snprintf(frac, sizeof(frac), "%06llu", (unsigned long long)(a % MONEY_SCALE));
	int n = 6;
	while (n > min_decimals && frac[n - 1] == '0')
		n--;
	if (n > 0)
		buf_addf(b, ".%.*s", n, frac);
}

void money_format_cents(struct buf *b, int64_t v)
{
	uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	uint64_t cents = (a + MONEY_SCALE / 200) / (MONEY_SCALE / 100);
	if (v < 0 && cents)
		buf_addch(b, '-');
	char digits[32];
	int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)(cents / 100));
	for (int i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			buf_addch(b, ',');
		buf_addch(b, digits[i]);
	}
	buf_addf(b, ".%02llu", (unsigned long long)(cents % 100));
}
