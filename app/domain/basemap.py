"""The trail map's base layer: which tile server, in which coordinate system, allowed by the CSP.

Default: 天地图 (Tianditu, the national platform; vector map ``vec_w`` with its Chinese labels
``cva_w``, Web-Mercator tiles on subdomains t0-t7), which needs a key (TIANDITU_KEY, a free
"browser" key from console.tianditu.gov.cn bound to the site's domain). Its coordinates are CGCS2000,
within centimetres of the phones' WGS-84, so points are drawn as measured. Without a key there are
no tiles (the trail still draws on a blank map, and the page tells the administrator what to set).

A deployment may name another XYZ tile server (MAP_TILE_URL, ``{s}`` ``{z}`` ``{x}`` ``{y}``) and the
coordinate system its tiles are drawn in (MAP_TILE_CRS: wgs84, gcj02 for AMap/Gaode or Tencent,
bd09 for Baidu); points are then converted (app/domain/geo.py) before they reach the map.
MAP_TILE_URL=none switches tiles off without the note.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from app.domain import geo

TIANDITU_URL = ("https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
                "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}")
TIANDITU_SUBDOMAINS = "01234567"
TIANDITU_LAYERS = ("vec", "cva")  # the vector map, then its Chinese annotation on top
TIANDITU_ATTRIBUTION = "© 天地图 Tianditu"
NO_TILES = "none"


@dataclass(frozen=True)
class Layer:
    url: str            # a Leaflet URL template
    subdomains: str     # the values of {s}
    attribution: str = ""


@dataclass(frozen=True)
class BaseMap:
    layers: tuple[Layer, ...] = ()
    crs: str = geo.WGS84              # the coordinate system the tiles are drawn in
    missing_key: bool = False         # the default source, but no TIANDITU_KEY set
    sources: tuple[str, ...] = field(default=())  # CSP img-src entries for these tiles

    def as_json(self) -> dict:
        return {"layers": [{"url": l.url, "subdomains": l.subdomains, "attribution": l.attribution}
                           for l in self.layers], "crs": self.crs}


def tianditu_layer(layer: str, key: str) -> Layer:
    url = TIANDITU_URL.replace("{layer}", layer).replace("{key}", key)
    return Layer(url, TIANDITU_SUBDOMAINS, TIANDITU_ATTRIBUTION if layer == "vec" else "")


def base_map(*, tile_url: str = "", tile_crs: str = "", subdomains: str = "", tianditu_key: str = "") -> BaseMap:
    """The base map for these settings; ValueError for a setting that cannot be right (told at start-up)."""
    tile_url, tile_crs, key = tile_url.strip(), (tile_crs.strip().lower() or geo.WGS84), tianditu_key.strip()
    if tile_crs not in geo.COORDINATE_SYSTEMS:
        raise ValueError(f"MAP_TILE_CRS={tile_crs!r}: one of {', '.join(geo.COORDINATE_SYSTEMS)}")
    if tile_url.lower() == NO_TILES:
        return BaseMap()
    if tile_url:
        layer = Layer(tile_url, subdomains.strip() or "abc")
        sources = tile_sources(layer)
        if not sources:
            raise ValueError(f"MAP_TILE_URL={tile_url!r}: an http(s) URL template such as "
                             "https://{s}.tile.example.org/{z}/{x}/{y}.png")
        return BaseMap((layer,), tile_crs, sources=sources)
    if not key:
        return BaseMap(missing_key=True)
    if not key.isalnum():
        raise ValueError("TIANDITU_KEY: the key is letters and digits only")
    layers = tuple(tianditu_layer(name, key) for name in TIANDITU_LAYERS)
    return BaseMap(layers, geo.WGS84, sources=tile_sources(layers[0]))


def from_config(config) -> BaseMap:
    return base_map(tile_url=config.get("MAP_TILE_URL") or "", tile_crs=config.get("MAP_TILE_CRS") or "",
                    subdomains=config.get("MAP_TILE_SUBDOMAINS") or "", tianditu_key=config.get("TIANDITU_KEY") or "")


def tile_sources(layer: Layer) -> tuple[str, ...]:
    """The CSP sources of a tile URL template: exactly the hosts ``{s}`` expands to
    ('https://t{s}.tianditu.gov.cn/…' with 0-7 → https://t0.tianditu.gov.cn … https://t7.tianditu.gov.cn).
    A CSP wildcard may only stand for a whole leftmost label, so hosts are listed one by one."""
    parts = urlsplit(layer.url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ()
    hosts = [parts.netloc.replace("{s}", s) for s in layer.subdomains] if "{s}" in parts.netloc else [parts.netloc]
    if any(not h or any(c in h for c in "{} ;,'\"") for h in hosts):
        return ()
    return tuple(dict.fromkeys(f"{parts.scheme}://{h}" for h in hosts))
