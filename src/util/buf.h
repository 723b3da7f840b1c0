/* Growable byte buffer: the one string builder of cratis. ptr is never NULL and always
 * NUL-terminated; ownership leaves only through buf_detach(). An empty buffer that never held
 * memory (alloc == 0) points at buf_empty, one "" shared by all of them and kept in read-only
 * memory: writing through ptr is allowed only once alloc > 0 (after an append or buf_grow);
 * a write through an empty buffer's ptr faults instead of changing every other empty buffer. */
#ifndef CRATIS_BUF_H
#define CRATIS_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *ptr;
	size_t len, alloc;
};

/* The "" of every buffer with alloc == 0 (const: read-only memory; ptr is char * only because
 * a buffer with memory is written through it). */
extern const char buf_empty[1];
#define BUF_INIT { (char *)buf_empty, 0, 0 }

/* Initialise an empty buffer (no allocation). */
void buf_init(struct buf *b);
/* Free what b holds and leave it empty and reusable. */
void buf_release(struct buf *b);
/* Empty b, keeping its allocation. */
void buf_clear(struct buf *b);
/* Make room for n more bytes; aborts on allocation failure (out-of-memory is fatal in cratis). */
void buf_grow(struct buf *b, size_t n);
/* Append n bytes of data / a NUL-terminated string / one character. */
void buf_add(struct buf *b, const void *data, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addch(struct buf *b, char c);
/* Append printf-formatted text. */
void buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vaddf(struct buf *b, const char *fmt, va_list ap);
/* Return the heap string b held (caller frees with free()) and leave b empty. */
char *buf_detach(struct buf *b);
/* Read at most cap bytes of file path into b. Returns 0, or -1 with errno set (EFBIG past cap). */
int buf_read_file(struct buf *b, const char *path, size_t cap);

#endif
