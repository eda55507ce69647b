-- tests/harness/sqlite_compat.sql: the few SQLite functions that the end-to-
-- end tests' own SQL (tests/lib.sh's store_sql) uses, for PostgreSQL, in a
-- schema of their own that only store_sql puts on its search_path: secdesk's
-- connections never see them. Loaded into the pg pass's template database.
CREATE SCHEMA sqlite_compat;
CREATE FUNCTION sqlite_compat.instr(text, text) RETURNS integer
	LANGUAGE sql IMMUTABLE AS 'SELECT position($2 in $1)';
CREATE FUNCTION sqlite_compat.instr(bytea, text) RETURNS integer
	LANGUAGE sql IMMUTABLE AS 'SELECT position(convert_to($2, ''UTF8'') in $1)';
-- strftime('%s', 'now'): the time in UTC seconds, the only form the tests use.
CREATE FUNCTION sqlite_compat.strftime(text, text) RETURNS bigint
	LANGUAGE sql STABLE AS 'SELECT extract(epoch FROM now())::bigint';
CREATE FUNCTION sqlite_compat.gc_step(text, anynonarray, text) RETURNS text
	LANGUAGE sql IMMUTABLE AS
	'SELECT CASE WHEN $2 IS NULL THEN $1 WHEN $1 IS NULL THEN $2::text ELSE $1 || $3 || $2::text END';
CREATE FUNCTION sqlite_compat.gc_step(text, anynonarray) RETURNS text
	LANGUAGE sql IMMUTABLE AS 'SELECT sqlite_compat.gc_step($1, $2, '','')';
CREATE AGGREGATE sqlite_compat.group_concat(anynonarray, text)
	(SFUNC = sqlite_compat.gc_step, STYPE = text);
CREATE AGGREGATE sqlite_compat.group_concat(anynonarray)
	(SFUNC = sqlite_compat.gc_step, STYPE = text);
-- hex(X): upper-case hex of the UTF-8 bytes, for text with line breaks.
CREATE FUNCTION sqlite_compat.hex(text) RETURNS text
	LANGUAGE sql IMMUTABLE AS 'SELECT upper(encode(convert_to($1, ''UTF8''), ''hex''))';
CREATE FUNCTION sqlite_compat.hex(bytea) RETURNS text
	LANGUAGE sql IMMUTABLE AS 'SELECT upper(encode($1, ''hex''))';
