/*
 * Intrusive circular doubly linked lists.
 *
 * Owns nothing: nodes live inside the objects they link. A node that is not
 * on a list has next == prev == itself (asup__list_init), so "am I linked?"
 * is one comparison and unlinking twice is harmless.
 */
#ifndef ASUP_UTIL_LIST_H
#define ASUP_UTIL_LIST_H

#include <stddef.h>

typedef struct asup__list {
	struct asup__list *next, *prev;
} asup__list;

#define asup__container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

static inline void asup__list_init(asup__list *l)
{
	l->next = l->prev = l;
}

static inline int asup__list_empty(const asup__list *l)
{
	return l->next == l;
}

static inline void asup__list_insert_before(asup__list *pos, asup__list *n)
{
	n->prev = pos->prev;
	n->next = pos;
	pos->prev->next = n;
	pos->prev = n;
}

static inline void asup__list_push_back(asup__list *head, asup__list *n)
{
	asup__list_insert_before(head, n);
}

static inline void asup__list_push_front(asup__list *head, asup__list *n)
{
	asup__list_insert_before(head->next, n);
}

static inline void asup__list_remove(asup__list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n->prev = n;
}

static inline asup__list *asup__list_pop_front(asup__list *head)
{
	asup__list *n = head->next;
	if (n == head)
		return NULL;
	asup__list_remove(n);
	return n;
}

#endif
