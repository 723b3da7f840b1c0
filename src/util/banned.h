/* Functions that overflow buffers or keep hidden state; using one is a compile error. */
#ifndef CRATIS_BANNED_H
#define CRATIS_BANNED_H

#define BANNED(func) sorry_##func##_is_banned_use_buf_functions

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef gets
#define gets(x) BANNED(gets)
#undef strtok
#define strtok(x, y) BANNED(strtok)

#endif
