"""A small REST API for the OpenAPI action-group tests: an inventory of items, every route
behind a bearer token (the value of SHOP_API_TOKEN), its OpenAPI document at /openapi.json
(open). Binds 127.0.0.1 on a free port and prints the port on its first line of output."""

import os
import socket
import sys
from typing import List, Optional

import uvicorn
from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel

TOKEN = os.environ["SHOP_API_TOKEN"]
app = FastAPI(title="shop", version="1.0.0")


class NewItem(BaseModel):
    name: str
    price: float
    tags: List[str] = []


class Item(NewItem):
    id: int


ITEMS: dict = {}


def authorized(authorization: Optional[str] = Header(default=None, include_in_schema=False)):
    if authorization != f"Bearer {TOKEN}":
        raise HTTPException(status_code=401, detail="missing or wrong bearer token")


@app.post("/items", operation_id="create_item", status_code=201, response_model=Item,
          dependencies=[Depends(authorized)])
def create_item(item: NewItem):
    """Adds an item to the inventory."""
    new = Item(id=len(ITEMS) + 1, **item.model_dump())
    ITEMS[new.id] = new
    return new


@app.get("/items/{item_id}", operation_id="get_item", response_model=Item,
         dependencies=[Depends(authorized)])
def get_item(item_id: int):
    """Reads one item."""
    if item_id not in ITEMS:
        raise HTTPException(status_code=404, detail=f"no item {item_id}")
    return ITEMS[item_id]


@app.get("/items", operation_id="list_items", response_model=List[Item],
         dependencies=[Depends(authorized)])
def list_items(tag: Optional[str] = None, limit: int = 100):
    """Lists items, optionally those with a tag."""
    found = [i for i in ITEMS.values() if tag is None or tag in i.tags]
    return found[:limit]


if __name__ == "__main__":
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    sys.stdout.flush()
    config = uvicorn.Config(app, log_level="warning")
    uvicorn.Server(config).run(sockets=[sock])
