/* Growable byte buffer (see buf.h). */
#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"
#include "banned.h"

/* Initialised, so that it lives in .rodata: a stray write through an empty buffer faults. */
const char buf_empty[1] = "";

void buf_init(struct buf *b)
{
	b->ptr = (char *)buf_empty;
	b->len = b->alloc = 0;
}

void buf_release(struct buf *b)
{
	if (b->alloc)
		free(b->ptr);
	buf_init(b);
}

void buf_clear(struct buf *b)
{
	b->len = 0;
	if (b->alloc)
		b->ptr[0] = '\0';
}

void buf_grow(struct buf *b, size_t n)
{
	size_t need = b->len + n + 1;
	if (need <= b->alloc)
		return;
	size_t na = b->alloc ? b->alloc : 64;
	while (na < need)
		na *= 2;
	if (!b->alloc) {
		b->ptr = xmalloc(na);
		b->ptr[0] = '\0';
	} else {
		b->ptr = xrealloc(b->ptr, na);
	}
	b->alloc = na;
}

void buf_add(struct buf *b, const void *data, size_t n)
{
	if (!n)
		return;
	buf_grow(b, n);
	memcpy(b->ptr + b->len, data, n);
	b->len += n;
	b->ptr[b->len] = '\0';
}

void buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_addch(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

void buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(b->ptr + b->len, b->alloc ? b->alloc - b->len : 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	if (b->len + (size_t)n + 1 > b->alloc) {
		buf_grow(b, (size_t)n);
		vsnprintf(b->ptr + b->len, b->alloc - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

void buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(b, fmt, ap);
	va_end(ap);
}

char *buf_detach(struct buf *b)
{
	char *p = b->alloc ? b->ptr : xstrdup("");
	buf_init(b);
	return p;
}

int buf_read_file(struct buf *b, const char *path, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char tmp[65536];
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof(tmp));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto out_close_err;
		}
		if (n == 0)
			break;
		if (b->len + (size_t)n > cap) {
			errno = EFBIG;
			goto out_close_err;
		}
		buf_add(b, tmp, (size_t)n);
	}
	close(fd);
	return 0;
out_close_err: {
	int e = errno;
	close(fd);
	errno = e;
	return -1;
}
}
