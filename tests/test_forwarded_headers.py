"""Security issue 21, item 2: a client behind the same host (a proxy, a tunnel, `--share`) that writes its own
X-Forwarded-For must not choose the address that the password brake, the upload budget and a demo link's
feedback budget count by. Forwarded headers count only from proxies the operator names
(FEWSHOT_TRUSTED_PROXIES); wrong passwords are also braked per user name, from however many addresses.
"""
from __future__ import annotations

import os
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest
from conftest import make_image
from conftest_app import launch_app
from test_demo_links import trained_project

from fewshot.demo_links import DemoLinks
from fewshot.project import ProjectStore
from fewshot.ui.server.guard import trusted_proxies

USER, PASSWORD = "ana", "secret"


def _post(url: str, data: bytes, headers: dict) -> tuple[int, float, str]:
    t0 = time.time()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers, method="POST"),
                                    timeout=90) as r:
            return r.status, time.time() - t0, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, time.time() - t0, e.read().decode()


def _login(base: str, user: str, password: str, forwarded: str) -> tuple[int, float, str]:
    return _post(base + "login", urllib.parse.urlencode({"username": user, "password": password}).encode(),
                 {"X-Forwarded-For": forwarded})


def _upload(base: str, forwarded: str) -> int:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"x.bin\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + os.urandom(500) + \
        f"\r\n--{boundary}--\r\n".encode()
    return _post(base + "gradio_api/upload", body, {"Content-Type": f"multipart/form-data; boundary={boundary}",
                                                     "X-Forwarded-For": forwarded})[0]


def _rotating(n: int) -> list[str]:
    return [f"203.0.113.{i + 1}" for i in range(n)]


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """The app with --auth, 3 uploads a minute per address, no proxy named."""
    base = tmp_path_factory.mktemp("xff")
    for url, _log in launch_app(base, "--auth", f"{USER}:{PASSWORD}", FEWSHOT_UPLOADS_PER_MIN="3"):
        yield url


@pytest.fixture(scope="module")
def behind_proxy(tmp_path_factory):
    """The same, run behind a proxy on this host that the operator names (127.0.0.1)."""
    base = tmp_path_factory.mktemp("xff-proxy")
    for url, _log in launch_app(base, "--auth", f"{USER}:{PASSWORD}", FEWSHOT_UPLOADS_PER_MIN="3",
                                FEWSHOT_TRUSTED_PROXIES="127.0.0.1"):
        yield url


def test_rotating_forwarded_addresses_do_not_escape_the_password_brake(plain):
    tries = [_login(plain, USER, "wrong", ip) for ip in _rotating(7)]
    assert all(status == 400 for status, _, _ in tries), tries
    assert tries[5][1] >= 1.5 and tries[6][1] >= 3, [round(t, 1) for _, t, _ in tries]  # the 6th and 7th waited
    status, took, _ = _login(plain, USER, PASSWORD, "203.0.113.99")
    assert status == 200 and took >= 3


def test_rotating_forwarded_addresses_do_not_escape_the_upload_budget(plain):
    codes = [_upload(plain, ip) for ip in _rotating(6)]
    assert codes.count(429) >= 2, codes  # no login needed to be refused: the budget comes first


def test_a_named_proxys_addresses_count_apart_and_one_user_name_is_braked_from_any_of_them(behind_proxy):
    url = behind_proxy
    codes_a = [_upload(url, "198.51.100.1") for _ in range(4)]
    assert codes_a[-1] == 429, codes_a  # one visitor over its budget...
    assert _upload(url, "198.51.100.2") != 429  # ...and another behind the same proxy is not
    assert _upload(url, "198.51.100.3, 198.51.100.1") == 429  # the proxy's own entry is the rightmost one
    tries = [_login(url, USER, "wrong", ip) for ip in _rotating(7)]  # a trusted address each, one user name
    assert all(status == 400 for status, _, _ in tries), tries
    assert tries[5][1] >= 1.5 and tries[6][1] >= 3, [round(t, 1) for _, t, _ in tries]
    assert _login(url, "bo", "wrong", "198.51.100.50")[1] < 1.5  # another name from a fresh address: no wait


def test_rotating_forwarded_addresses_do_not_escape_a_links_feedback_budget(plain, tmp_path):
    """Without a named proxy every visitor here is 127.0.0.1, whatever header it writes: the per-address budget
    of feedback (FEWSHOT_FEEDBACK_PER_MIN) counts them together."""
    pytest.importorskip("gradio_client")
    from gradio_client import Client, handle_file
    base = tmp_path / "fb"
    store = ProjectStore(base / "projects")
    pets, run = trained_project(store, base / "photos")
    link = DemoLinks(store).create(pets, run.id)
    for url, _log in launch_app(base, FEWSHOT_FEEDBACK_PER_MIN="4", TORCH_HOME=str(base / "torch")):
        said = []
        for i, ip in enumerate(_rotating(7)):
            photo = make_image(tmp_path / f"v{i}.png", (40 * i % 255, 90, 200), i, 40)
            client = Client(f"{url}m/{link.id}/", headers={"X-Forwarded-For": ip}, verbose=False)
            try:
                said.append(client.predict(handle_file(str(photo)), "dog", api_name="/feedback"))
            except Exception as exc:  # the page's refusal, in plain words
                said.append(str(exc))
        refused = [s for s in said if "Too many" in s]
        assert len(refused) >= 3, said
        assert len(store.open("ana", pets.id).photos(label=None)) <= 4


def test_no_proxy_is_trusted_unless_named_and_a_space_trusts_only_its_private_network(monkeypatch):
    monkeypatch.delenv("FEWSHOT_TRUSTED_PROXIES", raising=False)
    monkeypatch.delenv("SPACE_ID", raising=False)
    assert trusted_proxies() == ""
    monkeypatch.setenv("SPACE_ID", "ana/birds")
    assert "10.0.0.0/8" in trusted_proxies() and "127.0.0.1" not in trusted_proxies()
    monkeypatch.setenv("FEWSHOT_TRUSTED_PROXIES", " 192.0.2.7 , 192.0.2.0/28 ")
    assert trusted_proxies() == "192.0.2.7,192.0.2.0/28"
