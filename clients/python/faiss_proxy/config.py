"""Where connect() finds its settings, in the TypeScript client's order
(lib/client/config.ts): the arguments, then the environment (FAISS_PROXY_URL,
FAISS_PROXY_API_KEY), then a JSON file ($FAISS_PROXY_CONFIG, else
./faiss-proxy.json, else ~/.faiss-proxy.json) holding {"url": ..., "apiKey": ...}.
"""
import json
import os

from .errors import FaissProxyError


def _config_file():
    given = os.environ.get("FAISS_PROXY_CONFIG")
    candidates = [given] if given else [os.path.join(os.getcwd(), "faiss-proxy.json"), os.path.join(os.path.expanduser("~"), ".faiss-proxy.json")]
    for path in candidates:
        if not os.path.exists(path):
            continue
        try:
            with open(path, encoding="utf-8") as f:
                parsed = json.load(f)
            if not isinstance(parsed, dict):
                raise ValueError("it does not hold a JSON object")
        except (OSError, ValueError) as e:
            raise FaissProxyError(f"Cannot read the faiss-proxy config file {path}: {e}", "ERR_INVALID_ARGUMENT") from None
        return {"url": parsed.get("url"), "api_key": parsed.get("apiKey")}
    return {}


def resolve_settings(url=None, api_key=None):
    """(url, api_key) from the arguments, the environment or the config file; a URL is required."""
    env = os.environ
    file = {} if url and api_key else _config_file()
    url = url or env.get("FAISS_PROXY_URL") or file.get("url")
    api_key = api_key or env.get("FAISS_PROXY_API_KEY") or file.get("api_key")
    if not url:
        raise FaissProxyError("No server URL: pass url=, set FAISS_PROXY_URL, or write it in faiss-proxy.json", "ERR_INVALID_ARGUMENT")
    if not isinstance(url, str) or not (url.startswith("http://") or url.startswith("https://")):
        raise FaissProxyError(f"Expected an http(s) URL for url but received {url!r}", "ERR_INVALID_ARGUMENT")
    return url.rstrip("/"), api_key
