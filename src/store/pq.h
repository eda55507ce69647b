/* pq.h - libpq, opened at its first use (private to src/store/ and its
 * tests). Include it instead of <libpq-fe.h>.
 *
 * Only a desk on PostgreSQL needs libpq, and with it Kerberos, LDAP and
 * OpenSSL: linked as usual, every command of a SQLite desk would load them
 * at its start, at a cost above its queries. Each PQ function below is
 * reached through pq_functions(), which opens libpq the first time
 * (lazylib.h: one that cannot be opened ends the process with exit 75). */
#ifndef SECDESK_PQ_H
#define SECDESK_PQ_H

#include <libpq-fe.h>

#include "lazylib.h"

#define LIBPQ_FUNCTIONS(F) \
	F(PQclear) F(PQcmdStatus) F(PQcmdTuples) F(PQconnectdbParams) \
	F(PQconnectionNeedsPassword) F(PQconninfo) F(PQconninfoFree) F(PQconninfoParse) \
	F(PQenterPipelineMode) F(PQerrorMessage) F(PQexec) F(PQexecParams) \
	F(PQexitPipelineMode) F(PQfinish) F(PQfreemem) F(PQftype) F(PQgetisnull) \
	F(PQgetlength) F(PQgetResult) F(PQgetvalue) F(PQntuples) F(PQpipelineStatus) \
	F(PQpipelineSync) F(PQprepare) F(PQputCopyData) F(PQputCopyEnd) \
	F(PQresultErrorField) F(PQresultStatus) F(PQsendPrepare) F(PQsendQueryParams) \
	F(PQsendQueryPrepared) F(PQsetSingleRowMode) F(PQstatus) F(PQtransactionStatus) \
	F(PQunescapeBytea)

struct pq_functions {
	LIBPQ_FUNCTIONS(LAZYLIB_MEMBER)
};

/* libpq's functions, opened on the first call (thread-safe). */
const struct pq_functions *pq_functions(void);

/* The preprocessor cannot define names from a list: one line each, the
 * names of LIBPQ_FUNCTIONS. A function missing here would be linked
 * directly, which the build refuses: the Makefile does not link libpq.
 * pq.c, which fills the struct, sees the names as libpq declares them. */
#ifndef PQ_DIRECT
#define PQclear (pq_functions()->PQclear)
#define PQcmdStatus (pq_functions()->PQcmdStatus)
#define PQcmdTuples (pq_functions()->PQcmdTuples)
#define PQconnectdbParams (pq_functions()->PQconnectdbParams)
#define PQconnectionNeedsPassword (pq_functions()->PQconnectionNeedsPassword)
#define PQconninfo (pq_functions()->PQconninfo)
#define PQconninfoFree (pq_functions()->PQconninfoFree)
#define PQconninfoParse (pq_functions()->PQconninfoParse)
#define PQenterPipelineMode (pq_functions()->PQenterPipelineMode)
#define PQerrorMessage (pq_functions()->PQerrorMessage)
#define PQexec (pq_functions()->PQexec)
#define PQexecParams (pq_functions()->PQexecParams)
#define PQexitPipelineMode (pq_functions()->PQexitPipelineMode)
#define PQfinish (pq_functions()->PQfinish)
#define PQfreemem (pq_functions()->PQfreemem)
#define PQftype (pq_functions()->PQftype)
#define PQgetisnull (pq_functions()->PQgetisnull)
#define PQgetlength (pq_functions()->PQgetlength)
#define PQgetResult (pq_functions()->PQgetResult)
#define PQgetvalue (pq_functions()->PQgetvalue)
#define PQntuples (pq_functions()->PQntuples)
#define PQpipelineStatus (pq_functions()->PQpipelineStatus)
#define PQpipelineSync (pq_functions()->PQpipelineSync)
#define PQprepare (pq_functions()->PQprepare)
#define PQputCopyData (pq_functions()->PQputCopyData)
#define PQputCopyEnd (pq_functions()->PQputCopyEnd)
#define PQresultErrorField (pq_functions()->PQresultErrorField)
#define PQresultStatus (pq_functions()->PQresultStatus)
#define PQsendPrepare (pq_functions()->PQsendPrepare)
#define PQsendQueryParams (pq_functions()->PQsendQueryParams)
#define PQsendQueryPrepared (pq_functions()->PQsendQueryPrepared)
#define PQsetSingleRowMode (pq_functions()->PQsetSingleRowMode)
#define PQstatus (pq_functions()->PQstatus)
#define PQtransactionStatus (pq_functions()->PQtransactionStatus)
#define PQunescapeBytea (pq_functions()->PQunescapeBytea)
#endif

#endif
