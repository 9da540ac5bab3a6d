import io

import pytest

from chatclone.cli.main import main
from chatclone.config import TrainConfig
from chatclone.inference.repl import run_chat
from chatclone.sampling import ChatConfig
from chatclone.speaker_format import FORMAT, OTHER, PERSONA, Turn


@pytest.fixture(scope="module")
def run(tmp_path_factory, short_run) -> TrainConfig:
    """The options of a finished run named bot, alone in its runs folder (a copy of the shared
    short run)."""
    from conftest import copy_run

    from chatclone.rundir import RunDir

    runs = tmp_path_factory.mktemp("chat") / "runs"
    saved = RunDir(copy_run(short_run, runs, "bot")).read_config().to_dict()
    return TrainConfig(**{**saved, "runs_dir": str(runs), "run_name": "bot"})


def chat(run, script: str, **kw) -> str:
    out = io.StringIO()
    cfg = ChatConfig(
        run_name=run.run_name,
        runs_dir=run.runs_dir,
        greedy=True,
        max_new_tokens=12,
        device="cpu",
        **kw,
    )
    assert run_chat(cfg, io.StringIO(script), out) == 0
    return out.getvalue()


def test_scripted_transcript(run):
    text = chat(run, "Am I speaking to a bot?\n\nWhat did you do today?\nh\n/quit\nnever read\n")
    lines = text.splitlines()
    assert lines[0].startswith("Chatting with run 'bot'.")
    assert lines[1:3] == ["<speaker2> Hi!", "<speaker1> Hey!"]  # the seeded opening
    assert lines[3] == "you> Am I speaking to a bot?"
    assert lines[4].startswith("bot> ")
    assert lines[5] == "you> What did you do today?"
    replies = [lines[4][5:], lines[6][5:]]
    # `h` prints the whole history in the speaker format, replies included
    history = [
        Turn(OTHER, "Hi!"),
        Turn(PERSONA, "Hey!"),
        Turn(OTHER, "Am I speaking to a bot?"),
        Turn(PERSONA, replies[0]),
        Turn(OTHER, "What did you do today?"),
        Turn(PERSONA, replies[1]),
    ]
    assert "\n".join(lines[7:]) + "\n" == FORMAT.render(history)
    assert "never read" not in text


def test_quiet_mode_prints_only_replies(run):
    text = chat(run, "Hello\nBye\n", quiet=True, opening=[])
    assert len(text.splitlines()) == 2
    assert "you>" not in text and "Chatting" not in text


def test_reset_forgets_the_conversation(run):
    text = chat(run, "Hello\n/reset\nh\n", opening=[])
    assert text.endswith("(conversation reset)\n(no history yet)\n")


def test_reply_command_is_deterministic_when_greedy(run, capsys):
    args = [
        "reply",
        "--run-name",
        "bot",
        "--runs-dir",
        run.runs_dir,
        "--greedy",
        "--max-new-tokens",
        "8",
        "--device",
        "cpu",
        "Am I speaking to a bot?",
    ]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert main(args) == 0
    assert capsys.readouterr().out == first


def test_chat_on_missing_run_lists_runs(run, capsys):
    assert main(["chat", "--run-name", "nope", "--runs-dir", run.runs_dir]) == 1
    assert capsys.readouterr().err == (
        f"Error: no run named 'nope' in {run.runs_dir} (runs there: bot). Train one with: "
        "chatclone train --data EXPORT --run-name nope\n"
    )


def test_chat_on_unfinished_run(run, capsys, tmp_path):
    from chatclone.rundir import RunDir

    # A run killed before its final save: its options are written, its model is not.
    RunDir(tmp_path / "half").write_config(TrainConfig(data="sample", run_name="half"))
    assert main(["chat", "--run-name", "half", "--runs-dir", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        "Error: run 'half' has no final model yet (training did not finish). Finish it with: "
        "chatclone train --run-name half --resume\n"
    )


def test_chat_on_a_folder_that_is_not_a_run(capsys, tmp_path):
    (tmp_path / "stray").mkdir()
    assert main(["chat", "--run-name", "stray", "--runs-dir", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        f"Error: {tmp_path / 'stray'} is not a chatclone run folder (it has no chatclone.json). "
        "Train one with: chatclone train --data EXPORT --run-name stray\n"
    )


def test_bfloat16_weights_reply(run):
    import torch

    from chatclone.inference.repl import load_engine

    cfg = ChatConfig(
        run_name=run.run_name,
        runs_dir=run.runs_dir,
        greedy=True,
        max_new_tokens=6,
        device="cpu",
        weights="bfloat16",
    )
    engine = load_engine(cfg)
    assert engine.model.dtype == torch.bfloat16
    assert engine.generate([Turn(OTHER, "Hi")], cfg).tokens <= 6


def test_max_new_tokens_beyond_the_context_is_a_clear_error(run, capsys):
    assert (
        main(
            [
                "reply",
                "--run-name",
                "bot",
                "--runs-dir",
                run.runs_dir,
                "--device",
                "cpu",
                "--max-new-tokens",
                "600",
                "hi",
            ]
        )
        == 1
    )
    assert capsys.readouterr().err == (
        "Error: --max-new-tokens 600 leaves no room for the conversation in this model's "
        "512-token context; use at most 510\n"
    )


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has CUDA")
def test_missing_cuda_is_a_clear_error(run, capsys):
    assert (
        main(["reply", "--run-name", "bot", "--runs-dir", run.runs_dir, "--device", "cuda", "hi"])
        == 1
    )
    assert capsys.readouterr().err == (
        "Error: --device cuda was asked for but no CUDA GPU is visible; use --device auto\n"
    )
