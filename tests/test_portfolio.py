"""The portfolio simulation (riskmodel/analysis/portfolio): checks of issue 14."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from riskmodel.analysis.engine import simulate
from riskmodel.analysis.metrics import tvar
from riskmodel.analysis.portfolio import practice_seed, simulate_portfolio
from riskmodel.analysis.portfolio.compile import Compiler
from riskmodel.analysis.portfolio.summary import portfolio_summary
from riskmodel.inputs.portfolio import Portfolio, load_portfolio
from riskmodel.inputs.shared_events import SharedEvent
from riskmodel.inputs.synthetic import resized_risks
from riskmodel.io.shipped import shipped_dir
from riskmodel.simulation.draws import Plan

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "docs" / "portfolio.schema.json"


@pytest.fixture(scope="module")
def book() -> Portfolio:
    book, failures = load_portfolio(shipped_dir("examples"), "2026Q4")
    assert failures == []
    return book


def validate(out: dict) -> None:
    import jsonschema

    jsonschema.validate(json.loads(json.dumps(out, allow_nan=False)), json.loads(SCHEMA.read_text()))


def arrays(run) -> dict:
    return {"money": run.money, "hits": run.hits, "event_gross": run.event_gross, "event_hits": run.event_hits,
            "sums": run.practice_sums, "p99": run.practice_p99, "tail": run.tail, "contribution": run.contribution}


def assert_same(a, b) -> None:
    for k, v in arrays(a).items():
        assert np.array_equal(v, arrays(b)[k]), k


@pytest.mark.parametrize("which", [0, 1, 2])
def test_one_practice_without_shared_events_is_simulate(book, which):
    """A book of one practice and no shared events gives, year by year, to the penny, what
    simulate gives for that practice with its derived seed (two chunks of years)."""
    p = book.practices[which]
    run = simulate_portfolio(Portfolio((p,), (), "one"), 60_000, 7, show_progress=False)
    sim = simulate(p.register, 60_000, practice_seed(7, p.name), policy=p.policy, contracts=p.contracts)
    for payer in ("gross", "insurer", "retained"):
        diff = np.abs(run.payer(payer) - sim.payer(payer))
        assert diff.max() <= 0.01 + 1e-9, payer          # rounded to the penny, each in [0, gross]
    # contract cover is what is left (so the four add up in pence): within the three roundings
    assert np.abs(run.payer("contract") - sim.payer("contract")).max() <= 0.02 + 1e-9
    assert np.abs(run.payer("gross") - sim.gross).max() <= 0.005 + 1e-9
    assert run.payer("gross").sum() > 0


def test_book_total_is_the_sum_of_its_practices(book):
    run = simulate_portfolio(book, 3_000, 11, show_progress=False)
    parts = [simulate_portfolio(Portfolio((p,), book.events, "one"), 3_000, 11, show_progress=False)
             for p in book.practices]
    assert np.array_equal(run.money, sum(r.money for r in parts))
    assert np.array_equal(run.hits, sum(r.hits for r in parts))
    assert np.array_equal(run.event_gross, sum(r.event_gross for r in parts))
    assert (run.money[0] == run.money[1:].sum(axis=0)).all() and (run.money >= 0).all()
    assert run.event_gross.sum() > 0                 # the shared events did hit


def test_contributions_add_up_to_tvar99(book):
    run = simulate_portfolio(book, 5_000, 3, show_progress=False)
    assert run.contribution.sum() == pytest.approx(tvar(run.payer("gross"), 0.99), rel=1e-12)
    assert (run.contribution >= 0).all() and run.tail.size == 50
    # the worst years are the largest 1%
    assert run.payer("gross")[run.tail].min() >= np.quantile(run.payer("gross"), 0.99) - 1e-6
    # each practice's p99 is numpy's percentile of its own years (from its book of one)
    one = simulate_portfolio(Portfolio((book.practices[1],), book.events, "one"), 5_000, 3, show_progress=False)
    assert run.practice_p99[1] == pytest.approx(np.quantile(one.payer("gross"), 0.99), rel=1e-12)


def test_a_certain_event_hits_exactly_its_suppliers_practices_every_year(book):
    emis = SharedEvent("certain", "EMIS Web", "clinical_system", 60.0, 10.0, 20.0)
    b = Portfolio(book.practices, (emis,), "forced")
    members = b.practices_of(emis)
    assert 0 < len(members) < len(book.practices)
    run = simulate_portfolio(b, 2_000, 5, show_progress=False)
    assert (run.event_hits[0] == len(members)).all()
    assert (run.hits == len(members)).all()
    for i in range(len(book.practices)):
        alone = simulate_portfolio(Portfolio((book.practices[i],), (emis,), "one"), 2_000, 5, show_progress=False)
        assert (alone.event_gross[0] > 0).all() == (i in members)
        assert (alone.event_gross[0] > 0).any() == (i in members)


def test_shared_draws_are_common_to_the_practices_hit(book):
    """Same outage hours at every practice hit: its loss over its cost of an hour is the same."""
    emis = SharedEvent("certain", "EMIS Web", "clinical_system", 60.0, 10.0, 20.0)
    hours = []
    for i in Portfolio(book.practices, (emis,), "x").practices_of(emis):
        p = book.practices[i]
        run = simulate_portfolio(Portfolio((p,), (emis,), "one"), 500, 5, show_progress=False)
        hours.append(run.event_gross[0] / 100.0 / p.register.practice.interruption_cost_per_hour)
    assert len(hours) >= 2
    np.testing.assert_allclose(hours[0], hours[1], rtol=1e-9, atol=1e-4)


@pytest.mark.parametrize("kw", [dict(block_size=1), dict(block_size=2, chunks_per_task=2),
                                dict(block_size=3, chunks_per_task=3, workers=1),
                                dict(local="processes", workers=2, block_size=2),
                                dict(scratch=False), dict(scratch=False, block_size=2, chunks_per_task=2)])
def test_same_numbers_whatever_the_partitioning(book, kw):
    """... and whether the worst years are read back from scratch files (the default here) or
    simulated again (``scratch=False``, a cluster's default)."""
    base = simulate_portfolio(book, 3_500, 9, chunk=1_000, show_progress=False)
    other = simulate_portfolio(book, 3_500, 9, chunk=1_000, show_progress=False, **kw)
    assert_same(base, other)


def test_local_worker_processes_run_openblas_on_one_thread(monkeypatch):
    """Dask's local worker processes start with OPENBLAS_NUM_THREADS=1 (unless the user set it);
    this process's environment is left as it was."""
    import dask

    from riskmodel.analysis.portfolio.execution import Runner

    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    # (os.getenv is pickled by name, so it reads the worker's own environment; a bound method of
    # os.environ would carry this process's environment along)
    probe = dask.delayed(os.getenv)("OPENBLAS_NUM_THREADS")
    with Runner(local="processes", workers=1, show_progress=False) as runner:
        assert runner.compute([probe], "probe") == ["1"]
    assert "OPENBLAS_NUM_THREADS" not in os.environ
    with Runner(local="threads", workers=1, show_progress=False) as runner:
        assert runner.compute([probe], "probe") == [None]
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    with Runner(local="processes", workers=1, show_progress=False) as runner:
        assert runner.compute([probe], "probe") == ["3"]


def test_local_worker_processes_take_one_task_at_a_time():
    """Four ready tasks on two worker processes run on both (Dask's default would hand one
    process a batch of all four), the workers started when the runner was entered."""
    import dask

    from riskmodel.analysis.portfolio.execution import Runner, _warm_worker

    with Runner(local="processes", workers=2, show_progress=False) as runner:
        assert runner.pool is not None
        pids = runner.compute([dask.delayed(_warm_worker)(0.5) for _ in range(4)], "pids")
    assert len(set(pids)) == 2 and os.getpid() not in pids


def test_a_failing_task_stops_the_local_workers_run():
    """A task that raises on a local worker process raises here, with its own error, and the
    runner's worker processes are shut down."""
    import dask

    from riskmodel.analysis.portfolio.execution import Runner, _warm_worker

    with pytest.raises(ValueError, match="not a number"):
        with Runner(local="processes", workers=2, show_progress=False) as runner:
            runner.compute([dask.delayed(int)("not a number")] + [dask.delayed(_warm_worker)(0.5) for _ in range(4)],
                           "failing")
    assert runner.pool is None


def test_scratch_files_are_whole_and_gone_after_the_run(book, tmp_path, monkeypatch):
    """A folder given for scratch keeps what was there and nothing of the run; an error after
    the files were written leaves none behind either."""
    from riskmodel.analysis.portfolio import run as run_module
    from riskmodel.analysis.portfolio import scratch

    folder = tmp_path / "scratch"
    folder.mkdir()
    (folder / "mine.txt").write_text("kept")
    written = []
    real = scratch.write_gross

    def spy(path, gross):
        real(path, gross)
        written.append((path, np.load(path).copy(), gross.copy()))

    from riskmodel.analysis.portfolio import blocks
    monkeypatch.setattr(blocks, "write_gross", spy)
    a = simulate_portfolio(book, 1_500, 2, chunk=500, block_size=2, show_progress=False, scratch=folder)
    assert len(written) == 3 * 2          # 3 groups of chunks x 2 blocks
    for path, back, gross in written:
        assert np.array_equal(back, gross) and back.shape == (500, gross.shape[1])
    assert sorted(p.name for p in folder.rglob("*")) == ["mine.txt"]
    b = simulate_portfolio(book, 1_500, 2, chunk=500, block_size=2, show_progress=False, scratch=False)
    assert_same(a, b)

    monkeypatch.setattr(run_module, "tail_sums", lambda *a: (_ for _ in ()).throw(RuntimeError("disk gone")))
    with pytest.raises(RuntimeError, match="disk gone"):
        simulate_portfolio(book, 1_500, 2, chunk=500, show_progress=False, scratch=folder)
    assert sorted(p.name for p in folder.rglob("*")) == ["mine.txt"]


def test_no_room_for_scratch_simulates_the_worst_years_again(book, monkeypatch):
    from riskmodel.analysis.portfolio import blocks, scratch

    monkeypatch.setattr(scratch, "room_for", lambda *a: False)
    monkeypatch.setattr(blocks, "write_gross", lambda *a: pytest.fail("wrote scratch without room"))
    a = simulate_portfolio(book, 2_000, 4, show_progress=False)
    monkeypatch.undo()
    assert_same(a, simulate_portfolio(book, 2_000, 4, show_progress=False))


def test_scratch_keeps_int64_when_a_figure_needs_it(tmp_path):
    from riskmodel.analysis.portfolio.scratch import tail_sums, write_gross

    small = np.array([[1, 2], [3, 4], [5, 6]], dtype=np.int64)
    big = small.copy()
    big[1, 0] = 2**40
    for gross, dtype in ((small, np.int32), (big, np.int64)):
        path = str(tmp_path / f"{dtype.__name__}.npy")
        write_gross(path, gross)
        assert np.load(path).dtype == dtype
        assert np.array_equal(tail_sums(path, np.array([0, 1])), gross[[0, 1]].sum(axis=0))
        assert tail_sums(path, np.array([1])).dtype == np.int64


def test_shared_plans_equal_compiled_ones(book):
    """Practices resized from one template share its compiled plan with their own ranges."""
    p = book.practices[0]
    compiler = Compiler(book.events, 1)
    compiler.plan(p.register)
    resized = replace(p.register, risks=resized_risks(p.register.risks, 1.7))
    plan, _ = compiler.plan(resized)
    assert plan == Plan.from_register(resized)
    assert plan != Plan.from_register(p.register)


def test_summary_keys_and_schema(book):
    run = simulate_portfolio(book, 2_000, 1, show_progress=False)
    out = portfolio_summary(run, quarter="2026Q4", failed=[("broken", "no register")])
    validate(out)
    assert sum(r["contribution_tvar99"] for r in out["by_practice"]) == pytest.approx(out["gross"]["tvar99"])
    assert out["failed"] == [{"practice": "broken", "error": "no register"}]
    assert {s["supplier"] for s in out["by_supplier"]} == {e.supplier for e in book.events}
    assert sum(s["share_of_1_in_100"] for s in out["by_supplier"]) <= 1 + 1e-9
    worst = out["worst_years"][0]
    assert worst["gross"] == pytest.approx(max(run.payer("gross")))
    assert worst["gross"] == pytest.approx(worst["own_risks_gross"] + sum(s["gross"] for s in worst["shared"]),
                                           abs=0.01 * (1 + len(worst["shared"])) * len(book.practices))


def test_cli_json_and_errors(tmp_path):
    from riskmodel.cli import main

    target = tmp_path / "book.json"
    res = CliRunner().invoke(main, ["portfolio", "--quarter", "2026Q4", "--trials", "1000", "--json", str(target)])
    assert res.exit_code == 0, res.output
    out = json.loads(target.read_text())
    validate(out)
    assert out["practices"] == 3 and out["trials"] == 1000 and out["quarter"] == "2026Q4"
    res = CliRunner().invoke(main, ["portfolio", "--synthetic", "40", "--trials", "500", "--json", "-"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    validate(out)
    assert out["practices"] == 40 and out["source"].startswith("synthetic:40")
    # a bad practice is left out, the rest go on
    bad = tmp_path / "regs"
    CliRunner().invoke(main, ["examples", str(bad)])
    (bad / "riverside-rural" / "2026Q4.csv").write_text("risk_id,title\nR1,\n")
    res = CliRunner().invoke(main, ["portfolio", str(bad), "--quarter", "2026Q4", "--trials", "500", "--json", "-"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert [f["practice"] for f in out["failed"]] == ["riverside-rural"] and out["practices"] == 2
    # input errors exit 2 with the located message
    (bad / "portfolio.toml").write_text('[events.x]\nsupplier = "EMIS Web"\nservice = "clinical_sistem"\nfrequency = 1\n')
    res = CliRunner().invoke(main, ["portfolio", str(bad), "--quarter", "2026Q4", "--trials", "500"])
    assert res.exit_code == 2 and "portfolio.toml" in res.output and "clinical_system" in res.output
    res = CliRunner().invoke(main, ["portfolio", "--trials", "500"])
    assert res.exit_code == 2 and "--quarter" in res.output


def test_cli_scratch_folder(tmp_path):
    """--scratch: the same figures, the folder left as it was; a folder that cannot be written
    stops before any work with a message naming it."""
    from riskmodel.cli import main

    args = ["portfolio", "--quarter", "2026Q4", "--trials", "800", "--json", "-"]
    plain = CliRunner().invoke(main, args)
    folder = tmp_path / "scratch here"
    res = CliRunner().invoke(main, [*args, "--scratch", str(folder)])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == json.loads(plain.stdout)
    assert folder.is_dir() and not any(folder.iterdir())
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    res = CliRunner().invoke(main, [*args, "--scratch", str(blocker / "sub")])
    assert res.exit_code == 2 and "--scratch" in res.output and "a file" in res.output and "cannot write" in res.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_cluster_equals_local(book):
    """A real dask scheduler and two dask worker processes on 127.0.0.1: bit for bit the local run."""
    dask = str(Path(sys.executable).parent / "dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = []
    try:
        procs.append(subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                       "--no-dashboard"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for _ in range(2):
            procs.append(subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-dashboard",
                                           "--host", "127.0.0.1"], env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from distributed import Client

        deadline = time.monotonic() + 60
        while True:
            try:
                with Client(address, timeout="5s") as c:
                    c.wait_for_workers(2, timeout=60)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        local = simulate_portfolio(book, 3_000, 4, chunk=1_000, show_progress=False)
        remote = simulate_portfolio(book, 3_000, 4, chunk=1_000, scheduler=address, block_size=1, show_progress=False)
        assert_same(local, remote)
        assert "cluster" in remote.where
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def test_compiled_book_shares_plans_without_changing_a_number():
    """A practice compiled from a plan of the same structure (its own loss ranges put in, all
    at once) gets exactly the plan its register compiles to on its own."""
    from riskmodel.analysis.portfolio.compile import compile_book
    from riskmodel.inputs.synthetic import synthetic_portfolio
    from riskmodel.simulation.draws import Plan

    book = synthetic_portfolio(30)
    jobs = compile_book(book, 3)
    assert len({id(j.plan.risks[0].freq_controls) for j in jobs}) < len(jobs)     # plans were shared
    for job, practice in zip(jobs, book.practices):
        alone = Plan.from_register(practice.register)
        assert job.plan.risks == alone.risks and job.plan.controls == alone.controls
