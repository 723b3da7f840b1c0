/* The Lua 5.4 sandbox of cost-model formulas: text-only chunks, a fresh global table per
 * evaluation over read-only library proxies, an instruction-count hook and a memory cap. */
#define _GNU_SOURCE
#include "sandbox.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "banned.h"

#define HOOK_STEP 1000

struct sandbox {
	lua_State *L;
	long max_instructions, used;
	size_t max_memory, memory;
	bool over_memory;
	int base_ref;          /* registry ref of the base table the per-call globals read through */
	int env_mt_ref;        /* registry ref of the metatable {__index = base} */
};

static void *sb_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct sandbox *s = ud;
	if (!ptr)
		osize = 0;
	if (nsize == 0) {
		free(ptr);
		s->memory -= osize;
		return NULL;
	}
	if (nsize > osize && s->memory + (nsize - osize) > s->max_memory) {
		s->over_memory = true;
		return NULL;
	}
	void *p = realloc(ptr, nsize);
	if (p)
		s->memory = s->memory - osize + nsize;
	return p;
}

static void sb_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	void *ud;
	lua_getallocf(L, &ud);
	struct sandbox *s = ud;
	s->used += HOOK_STEP;
	if (s->used > s->max_instructions)
		luaL_error(L, "formula ran more than %d instructions", (int)s->max_instructions);
}

static int readonly_newindex(lua_State *L)
{
	return luaL_error(L, "the library table '%s' is read-only", lua_tostring(L, lua_upvalueindex(1)));
}

/* Push a read-only proxy of the table at the top (popped): an empty table whose metatable
 * reads from it and refuses writes. */
static void push_proxy(lua_State *L, const char *name)
{
	int lib = lua_gettop(L);
	lua_newtable(L);                      /* proxy */
	lua_newtable(L);                      /* its metatable */
	lua_pushvalue(L, lib);
	lua_setfield(L, -2, "__index");
	lua_pushstring(L, name);
	lua_pushcclosure(L, readonly_newindex, 1);
	lua_setfield(L, -2, "__newindex");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
	lua_remove(L, lib);
}

static int sb_setup(lua_State *L)
{
	struct sandbox *s = lua_touserdata(L, 1);
	/* the libraries are opened into a scratch table, never into _G's reach of the formulas */
	luaL_requiref(L, "_G", luaopen_base, 0);
	int g = lua_gettop(L);
	lua_newtable(L);
	int base = lua_gettop(L);
	static const char *const safe[] = { "tonumber", "tostring", "type", "pairs", "ipairs", "select", "error",
		                            "assert", "next", "rawequal", "rawlen", "rawget" };
	for (size_t i = 0; i < sizeof(safe) / sizeof(safe[0]); i++) {
		lua_getfield(L, g, safe[i]);
		lua_setfield(L, base, safe[i]);
	}
	static const struct { const char *name; lua_CFunction open; } libs[] = {
		{ "math", luaopen_math }, { "string", luaopen_string }, { "table", luaopen_table },
	};
	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
		luaL_requiref(L, libs[i].name, libs[i].open, 0);
		if (!strcmp(libs[i].name, "string")) {
			lua_pushnil(L);
			lua_setfield(L, -2, "dump");
		}
		push_proxy(L, libs[i].name);
		lua_setfield(L, base, libs[i].name);
	}
	/* nothing of the base library stays reachable from the state's own globals either */
	lua_pushglobaltable(L);
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		lua_pop(L, 1);
		lua_pushvalue(L, -1);
		lua_pushnil(L);
		lua_rawset(L, -4);
	}
	lua_pop(L, 1);
	lua_pushvalue(L, base);
	s->base_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_newtable(L);
	lua_pushvalue(L, base);
	lua_setfield(L, -2, "__index");
	s->env_mt_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return 0;
}

int sandbox_new(struct sandbox **out, long max_instructions, size_t max_memory)
{
	*out = NULL;
	struct sandbox *s = xcalloc(1, sizeof(*s));
	s->max_instructions = max_instructions > 0 ? max_instructions : SANDBOX_DEFAULT_INSTRUCTIONS;
	s->max_memory = max_memory ? max_memory : SANDBOX_DEFAULT_MEMORY;
	s->L = lua_newstate(sb_alloc, s);
	if (!s->L) {
		free(s);
		return -1;
	}
	lua_pushcfunction(s->L, sb_setup);
	lua_pushlightuserdata(s->L, s);
	if (lua_pcall(s->L, 1, 0, 0) != LUA_OK) {
		lua_close(s->L);
		free(s);
		return -1;
	}
	lua_sethook(s->L, sb_hook, LUA_MASKCOUNT, HOOK_STEP);
	*out = s;
	return 0;
}

void sandbox_free(struct sandbox *s)
{
	if (!s)
		return;
	lua_close(s->L);
	free(s);
}

static char *take_error(lua_State *L, struct sandbox *s)
{
	char *e;
	if (s->over_memory)
		e = xasprintf("formula needs more than %zu bytes", s->max_memory);
	else
		e = xstrdup(lua_tostring(L, -1) ? lua_tostring(L, -1) : "error object is not a string");
	lua_settop(L, 0);
	s->over_memory = false;
	return e;
}

int sandbox_compile(struct sandbox *s, const char *expr, const char *chunkname, char **err)
{
	lua_State *L = s->L;
	*err = NULL;
	char *code = xasprintf("return (%s\n)", expr);
	int rc = luaL_loadbufferx(L, code, strlen(code), chunkname, "t");
	free(code);
	if (rc != LUA_OK) {
		*err = take_error(L, s);
		return -1;
	}
	return luaL_ref(L, LUA_REGISTRYINDEX);
}

/* Push JSON value v as a Lua value (depth-limited by jansson's own parsing limits). */
static int push_json(lua_State *L, const json_t *v, int depth)
{
	if (depth > 64 || !lua_checkstack(L, 4))
		return -1;
	switch (json_typeof(v)) {
	case JSON_INTEGER: lua_pushinteger(L, (lua_Integer)json_integer_value(v)); break;
	case JSON_REAL: lua_pushnumber(L, json_real_value(v)); break;
	case JSON_STRING: lua_pushlstring(L, json_string_value(v), json_string_length(v)); break;
	case JSON_TRUE: lua_pushboolean(L, 1); break;
	case JSON_FALSE: lua_pushboolean(L, 0); break;
	case JSON_ARRAY: {
		lua_createtable(L, (int)json_array_size(v), 0);
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) {
			if (push_json(L, e, depth + 1))
				return -1;
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		break;
	}
	case JSON_OBJECT: {
		lua_createtable(L, 0, (int)json_object_size(v));
		const char *k;
		json_t *e;
		json_object_foreach((json_t *)v, k, e) {
			if (push_json(L, e, depth + 1))
				return -1;
			lua_setfield(L, -2, k);
		}
		break;
	}
	default: lua_pushnil(L); break;
	}
	return 0;
}

struct eval_args {
	struct sandbox *s;
	int fn;
	const json_t *env;
};

/* Runs protected: pushes the function with a fresh _ENV and calls it (one result). */
static int sb_eval(lua_State *L)
{
	struct eval_args *a = lua_touserdata(L, 1);
	lua_rawgeti(L, LUA_REGISTRYINDEX, a->fn);
	lua_newtable(L);
	lua_pushinteger(L, 730);
	lua_setfield(L, -2, "hours");
	if (a->env && push_json(L, a->env, 0) == 0) {
		lua_pushnil(L);
		while (lua_next(L, -2)) {
			lua_pushvalue(L, -2);
			lua_insert(L, -2);
			lua_settable(L, -5);
		}
		lua_pop(L, 1);
	} else if (a->env) {
		return luaL_error(L, "the formula's values are nested too deeply");
	}
	lua_rawgeti(L, LUA_REGISTRYINDEX, a->s->env_mt_ref);
	lua_setmetatable(L, -2);
	if (!lua_setupvalue(L, -2, 1))
		return luaL_error(L, "formula has no environment");
	a->s->used = 0;
	lua_call(L, 0, 1);
	return 1;
}

int sandbox_eval(struct sandbox *s, int fn, const json_t *env, json_t **out, char **err)
{
	lua_State *L = s->L;
	*out = NULL;
	*err = NULL;
	struct eval_args a = { s, fn, env };
	lua_settop(L, 0);
	lua_pushcfunction(L, sb_eval);
	lua_pushlightuserdata(L, &a);
	if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
		*err = take_error(L, s);
		return -1;
	}
	int rc = 0;
	switch (lua_type(L, -1)) {
	case LUA_TNUMBER:
		*out = lua_isinteger(L, -1) ? json_integer((json_int_t)lua_tointeger(L, -1)) : json_real(lua_tonumber(L, -1));
		break;
	case LUA_TSTRING: {
		size_t n;
		const char *str = lua_tolstring(L, -1, &n);
		*out = json_stringn(str, n);
		break;
	}
	case LUA_TBOOLEAN: *out = json_boolean(lua_toboolean(L, -1)); break;
	case LUA_TNIL: *out = json_null(); break;
	default:
		*err = xasprintf("formula returned a %s; expected a number, string or boolean", luaL_typename(L, -1));
		rc = -1;
	}
	if (!rc && !*out) {
		*err = xstrdup("formula returned a value that cannot be represented (invalid UTF-8 or not finite)");
		rc = -1;
	}
	lua_settop(L, 0);
	return rc;
}
