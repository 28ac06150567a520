"""One model, loaded in several single-thread worker processes that share the evaluation work.

On a CPU, two processes of one thread each answer more than one process of two threads: decoding
a batch runs many small matmuls and much Python between them, which a second thread barely
speeds up. Measured here (2 cores, SmolLM2-135M, 64 probes, 64 new tokens): one engine of two
threads 80.6 s; two engines of one thread, each doing the same 64 probes at once, 119 s for twice
the work: 1.35x. Starting the workers costs about 15 s (Python, torch and swift imported anew,
the model loaded twice): on every probe with their NLL, loading included, one process took 269 s
and two workers 233 s (1.15x, `bench/run.py --only workers`). Small jobs stay in this process
(MIN_WORK), as they do where CUDA is available or torch has one thread.

Work is split in whole batches (prompts sorted by length, batches dealt out in turn), so each
worker batches its share the same way one engine would.
"""

from __future__ import annotations

import os
import queue
import traceback
from typing import Callable, Optional, Sequence

from .errors import SelfcogError

# At most this many worker processes; more would multiply the model's memory.
MAX_WORKERS = 2
# Below this much weight, or below this many prompts, starting the workers is not repaid
# (`bench/run.py --only workers`: 64 prompts took 102.5 s on two workers, 88.6 s in one process).
MIN_WEIGHT_BYTES = 100 << 20
MIN_WORK = 128
# Seconds between checks that the workers are still alive while waiting for them.
POLL_SECONDS = 2.0
WORKERS_ENV = "SELFCOG_EVAL_WORKERS"


def _weight_bytes(infer_argv: list[str]) -> Optional[int]:
    """Size of the weight files of the argv's --model folder; None for a hub id."""
    from pathlib import Path

    folder = Path(infer_argv[infer_argv.index("--model") + 1]) if "--model" in infer_argv else None
    if folder is None or not folder.is_dir():
        return None
    return sum(p.stat().st_size for p in folder.iterdir() if p.suffix in (".safetensors", ".bin", ".pt"))


def worker_count(infer_argv: list[str], work: Optional[int] = None) -> int:
    """How many engines to run: $SELFCOG_EVAL_WORKERS if set; else, for a model of MIN_WEIGHT_BYTES
    or more on a CPU and at least MIN_WORK prompts (`work`, when known), as many as torch's
    threads, at most MAX_WORKERS; else 1 (in this process)."""
    wanted = os.environ.get(WORKERS_ENV)
    if wanted:
        if not wanted.isdigit() or int(wanted) < 1:
            raise SelfcogError(f"{WORKERS_ENV}={wanted!r}: expected a whole number >= 1")
        return int(wanted)
    import torch

    size = _weight_bytes(infer_argv)
    small_model = size is not None and size < MIN_WEIGHT_BYTES
    small_job = work is not None and work < MIN_WORK
    if torch.cuda.is_available() or small_model or small_job:
        return 1
    return min(MAX_WORKERS, torch.get_num_threads())  # the threads this process may use, shared out


def _deal(sizes: Sequence[int], batch: int, workers: int) -> list[list[int]]:
    """Indices per worker: sorted by size, cut into batches, batches dealt out in turn."""
    from .inference import by_length

    shares: list[list[int]] = [[] for _ in range(workers)]
    for number, chunk in enumerate(by_length(sizes, batch)):
        shares[number % workers].extend(chunk)
    return shares


def _run(pipeline, op: str, payload, progress):
    from .inference import generate, swap_adapter
    from .retention import answer_nll, text_nll, text_windows

    if op == "generate":
        prompts, max_new_tokens, sampling = payload
        return generate(pipeline, prompts, max_new_tokens, sampling=sampling, progress=progress)
    if op == "answer_nll":
        return answer_nll(pipeline, payload, progress)
    if op == "text_nll":
        return text_nll(pipeline, payload, progress)
    if op == "windows":
        return text_windows(pipeline.template.tokenizer, payload)
    if op == "swap":
        return swap_adapter(pipeline, payload)
    raise ValueError(op)


def _worker(index: int, infer_argv: list[str], threads: int, remote_code: bool, inbox, outbox) -> None:
    os.environ["OMP_NUM_THREADS"] = str(threads)
    try:
        import torch

        torch.set_num_threads(threads)
        from .inference import allow_remote_code, load_engine

        allow_remote_code(remote_code)
        pipeline = load_engine(infer_argv)
    except BaseException:
        outbox.put(("error", index, traceback.format_exc()))
        return
    outbox.put(("ready", index, None))
    while True:
        op, payload = inbox.get()
        if op == "stop":
            return
        try:
            result = _run(pipeline, op, payload, lambda n: outbox.put(("tick", index, n)))
        except BaseException:
            outbox.put(("error", index, traceback.format_exc()))
            continue
        outbox.put(("done", index, result))


class Engines:
    """The model of a `swift infer` argument list, loaded once per worker; a context manager."""

    def __init__(self, infer_argv: list[str], workers: Optional[int] = None, work: Optional[int] = None):
        self.infer_argv = list(infer_argv)
        self.workers = workers or worker_count(self.infer_argv, work)
        self.pipeline = None
        self._procs: list = []
        if self.workers == 1:
            from .inference import load_engine

            self.pipeline = load_engine(self.infer_argv)
            return
        import multiprocessing

        import torch

        from .inference import remote_code_allowed

        context = multiprocessing.get_context("spawn")  # fork would copy this process's torch threads
        threads = max(1, torch.get_num_threads() // self.workers)
        self._outbox = context.Queue()
        self._inboxes = [context.Queue() for _ in range(self.workers)]
        for index, inbox in enumerate(self._inboxes):
            process = context.Process(target=_worker, daemon=True, args=(
                index, self.infer_argv, threads, remote_code_allowed(), inbox, self._outbox))
            process.start()
            self._procs.append(process)
        self._collect()

    def __enter__(self) -> "Engines":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for inbox, process in zip(getattr(self, "_inboxes", []), self._procs):
            if process.is_alive():
                inbox.put(("stop", None))
        for process in self._procs:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
        self._procs, self.pipeline = [], None

    def _collect(self, progress: Optional[Callable[[int], None]] = None) -> list:
        results: list = [None] * self.workers
        waiting = set(range(self.workers))
        while waiting:
            try:
                kind, index, value = self._outbox.get(timeout=POLL_SECONDS)
            except queue.Empty:
                dead = [i for i in waiting if not self._procs[i].is_alive()]
                if dead:
                    code = self._procs[dead[0]].exitcode
                    self.close()
                    raise SelfcogError(f"evaluation worker {dead[0]} died (exit code {code}); out of memory? "
                                       f"{WORKERS_ENV}=1 evaluates in one process")
                continue
            if kind == "tick":
                if progress:
                    progress(value)
                continue
            if kind == "error":
                self.close()
                last = value.strip().splitlines()[-1]
                raise SelfcogError(f"evaluation worker {index}: {last}")
            results[index] = value
            waiting.discard(index)
        return results

    def _each(self, op: str, shares: list, progress=None) -> list:
        for inbox, payload in zip(self._inboxes, shares):
            inbox.put((op, payload))
        return self._collect(progress)

    def _split(self, op: str, items: Sequence, sizes: Sequence[int], batch: int, progress, make_payload) -> list:
        """Run `op` on the items, dealt out in batches; results back in the items' order."""
        if self.pipeline is not None:
            return _run(self.pipeline, op, make_payload(list(items)), progress)
        shares = _deal(sizes, batch, self.workers)
        parts = self._each(op, [make_payload([items[i] for i in share]) for share in shares], progress)
        results: list = [None] * len(items)
        for share, part in zip(shares, parts):
            for index, value in zip(share, part):
                results[index] = value
        return results

    def generate(self, prompts: Sequence[Sequence[dict]], max_new_tokens: int, sampling: Optional[dict] = None,
                 progress: Optional[Callable[[int], None]] = None) -> list[str]:
        """inference.generate over the workers."""
        from .inference import BATCH_SIZE, prompt_chars

        sizes = [prompt_chars(messages) for messages in prompts]
        return self._split("generate", prompts, sizes, BATCH_SIZE, progress,
                           lambda share: (share, max_new_tokens, sampling))

    def answer_nll(self, items: Sequence[tuple[list[dict], str]],
                   progress: Optional[Callable[[int], None]] = None) -> list[Optional[float]]:
        """retention.answer_nll over the workers."""
        from .inference import prompt_chars
        from .retention import NLL_BATCH

        sizes = [prompt_chars(messages) + len(answer) for messages, answer in items]
        return self._split("answer_nll", items, sizes, NLL_BATCH, progress, lambda share: share)

    def text_nll(self, windows: Sequence[list[int]], progress: Optional[Callable[[int], None]] = None):
        """retention.text_nll over the workers."""
        from .retention import NLL_BATCH, Nll

        if self.pipeline is not None:
            return _run(self.pipeline, "text_nll", list(windows), progress)
        shares = _deal([len(w) for w in windows], NLL_BATCH, self.workers)
        parts = self._each("text_nll", [[windows[i] for i in share] for share in shares], progress)
        return Nll(sum(p.total for p in parts), sum(p.tokens for p in parts))  # sums add up

    def text_windows(self, texts: Sequence[str]) -> list[list[int]]:
        """retention.text_windows with the model's tokenizer."""
        if self.pipeline is not None:
            return _run(self.pipeline, "windows", list(texts), None)
        return self._each("windows", [list(texts)] + [[]] * (self.workers - 1))[0]

    def swap(self, checkpoint: str) -> bool:
        """inference.swap_adapter in every worker: True when all swapped."""
        if self.pipeline is not None:
            return _run(self.pipeline, "swap", checkpoint, None)
        return all(self._each("swap", [checkpoint] * self.workers))
