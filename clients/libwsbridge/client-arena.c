#include "client-arena.h"

#include <stdlib.h>

#define ARENA_ALIGN (_Alignof(max_align_t))

static WsbcArenaChunk *
arena_push_chunk (WsbcArena *arena, size_t size)
{
  WsbcArenaChunk *chunk = malloc (sizeof *chunk + size);

  if (!chunk)
    return NULL;
  chunk->prev = arena->head;
  chunk->size = size;
  chunk->used = 0;
  arena->head = chunk;
  return chunk;
}

static void *
arena_alloc (void *data, size_t size)
{
  WsbcArena *arena = data;
  WsbcArenaChunk *chunk = arena->head;
  void *p;

  size = (size + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
  if (!chunk || chunk->size - chunk->used < size)
    {
      chunk = arena_push_chunk (arena, size > WSBC_ARENA_CHUNK ? size : WSBC_ARENA_CHUNK);
      if (!chunk)
        return NULL;
    }
  p = (char *) chunk->data + chunk->used;
  chunk->used += size;
  return p;
}

static void
arena_free (void *data, void *pointer)
{
  /* Everything goes at once in wsbc_arena_release(). */
}

void
wsbc_arena_allocator_init (WsbcArena *arena, ProtobufCAllocator *allocator)
{
  allocator->alloc = arena_alloc;
  allocator->free = arena_free;
  allocator->allocator_data = arena;
}

bool
wsbc_arena_mark (WsbcArena *arena, WsbcArenaMark *mark)
{
  if (!arena->head && !arena_push_chunk (arena, WSBC_ARENA_CHUNK))
    return false;
  mark->chunk = arena->head;
  mark->used = arena->head->used;
  return true;
}

void
wsbc_arena_release (WsbcArena *arena, const WsbcArenaMark *mark)
{
  while (arena->head != mark->chunk)
    {
      WsbcArenaChunk *chunk = arena->head;
      arena->head = chunk->prev;
      free (chunk);
    }
  arena->head->used = mark->used;
}

void
wsbc_arena_clear (WsbcArena *arena)
{
  while (arena->head)
    {
      WsbcArenaChunk *chunk = arena->head;
      arena->head = chunk->prev;
      free (chunk);
    }
}
