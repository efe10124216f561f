"""Async machinery shared by the HTTP backends: bounded concurrency, retries, progress.

Requests run on an asyncio loop with at most `max_concurrency` in flight (a semaphore).
Each one is retried by tenacity with exponential backoff and jitter on 429, 408/409, 5xx,
timeouts, connection errors and malformed responses; the SDKs' own retries are switched off so
there is one retry policy. Every response goes to the cache the moment it arrives, and every
request runs to completion or failure before the first failure is raised, so a failed or killed
run loses nothing it already fetched.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from abc import abstractmethod

from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from organisms.errors import OrganismError
from runtime.backends.base import ChatBackend, Job, Messages
from runtime.progress import progress_bar

RETRY_STATUS = (408, 409, 429)


class MalformedResponse(Exception):
    """The server answered 2xx but the body is not the JSON we expect."""


class HttpBackend(ChatBackend):
    """Subclasses provide `_client()`, `async _request(client, messages, params) -> (text, in, out)`
    and `_status(exc) -> int | None` (the HTTP status of an SDK error)."""

    field = "corpus.documents.backend"  # the spec section named in errors

    @abstractmethod
    def _client(self):
        """The SDK's async client (keys from the environment)."""

    @abstractmethod
    async def _request(self, client, messages: Messages, params: dict) -> tuple[str, int, int]:
        """One chat completion: (text, prompt tokens, completion tokens)."""

    def _status(self, exc: BaseException) -> int | None:
        return getattr(exc, "status_code", None)

    def _retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, MalformedResponse | asyncio.TimeoutError):
            return True
        status = self._status(exc)
        if status is not None:
            return status in RETRY_STATUS or status >= 500
        return type(exc).__name__ in ("APITimeoutError", "APIConnectionError", "APIResponseValidationError")

    def _reason(self, exc: BaseException) -> str:
        status = self._status(exc)
        return str(status) if status is not None else type(exc).__name__

    def _count_retry(self, state) -> None:
        reason = self._reason(state.outcome.exception())
        self.usage.retries += 1
        self.usage.retry_reasons[reason] = self.usage.retry_reasons.get(reason, 0) + 1

    async def _one(self, client, job: Job) -> None:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.spec.max_retries + 1),
            wait=wait_exponential_jitter(initial=self.spec.retry_wait, max=60, jitter=self.spec.retry_wait),
            retry=retry_if_exception(self._retryable),
            before_sleep=self._count_retry,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                text, prompt_tokens, completion_tokens = await self._request(client, job.messages, job.params)
        self._store(job, text, prompt_tokens, completion_tokens)

    async def _fetch_all(self, jobs: list[Job], desc: str) -> list[BaseException | None]:
        client = self._client()
        semaphore = asyncio.Semaphore(self.spec.max_concurrency)
        columns = (TextColumn(f"{self.name} {desc}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with progress_bar(*columns) as progress:
            task = progress.add_task(desc, total=len(jobs))

            async def bounded(job: Job) -> None:
                async with semaphore:
                    await self._one(client, job)
                progress.advance(task)

            results = await asyncio.gather(*(bounded(job) for job in jobs), return_exceptions=True)
        await client.close()
        return list(results)

    def _fetch(self, jobs: list[Job], desc: str) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            results = asyncio.run(self._fetch_all(jobs, desc))
        else:  # called from inside a running loop (a notebook): run ours on a worker thread
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                results = pool.submit(asyncio.run, self._fetch_all(jobs, desc)).result()
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            first = failures[0]
            kind = "after retries" if self._retryable(first) else "(not retryable)"
            raise OrganismError(
                f"{self.name} backend: {len(failures)} of {len(jobs)} requests failed {kind}; first: "
                f"{self._reason(first)} {str(first)[:200]}; the {len(jobs) - len(failures)} that succeeded are "
                f"cached in {self.cache.root}, rerun to resume (check {self.field}: model, base_url)"
            )
