"""A small editor over an ONNX graph: lookups, node replacement, pruning, ordering."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np
import onnx
from onnx import helper, numpy_helper


class GraphEditor:
    """Nodes are identified by name (unique in tf2onnx output and in every node added here)."""

    def __init__(self, model: onnx.ModelProto) -> None:
        self.model = model
        self.graph = model.graph
        self._counter = 0

    # -- lookups -------------------------------------------------------------------
    @property
    def initializers(self) -> dict[str, onnx.TensorProto]:
        return {i.name: i for i in self.graph.initializer}

    def producers(self) -> dict[str, onnx.NodeProto]:
        return {out: node for node in self.graph.node for out in node.output if out}

    def consumers(self) -> dict[str, list[onnx.NodeProto]]:
        users: dict[str, list[onnx.NodeProto]] = defaultdict(list)
        for node in self.graph.node:
            for name in node.input:
                if name:
                    users[name].append(node)
        return users

    @property
    def output_names(self) -> set[str]:
        return {o.name for o in self.graph.output}

    def unique(self, stem: str) -> str:
        self._counter += 1
        return f"{stem}__{self._counter}"

    # -- edits ---------------------------------------------------------------------
    def add_initializer(self, name: str, array: np.ndarray) -> str:
        self.remove_initializer(name)
        self.graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def remove_initializer(self, name: str) -> None:
        for i, init in enumerate(self.graph.initializer):
            if init.name == name:
                del self.graph.initializer[i]
                return

    def add_node(
        self,
        op_type: str,
        inputs: list[str],
        outputs: list[str] | None = None,
        domain: str = "",
        name: str | None = None,
        **attrs,
    ) -> onnx.NodeProto:
        name = name or self.unique(op_type)
        outputs = outputs if outputs is not None else [name + ":0"]
        node = helper.make_node(op_type, inputs, outputs, name=name, domain=domain or None, **attrs)
        self.graph.node.append(node)
        return node

    def remove_nodes(self, nodes: Iterable[onnx.NodeProto]) -> None:
        # By name: protobuf copies messages on every edit, so object identity is not stable.
        doomed = {n.name for n in nodes}
        kept = [n for n in self.graph.node if n.name not in doomed]
        del self.graph.node[:]
        self.graph.node.extend(kept)

    def rename_tensor(self, old: str, new: str) -> None:
        for node in self.graph.node:
            for i, name in enumerate(node.input):
                if name == old:
                    node.input[i] = new
            for i, name in enumerate(node.output):
                if name == old:
                    node.output[i] = new
        for value in [*self.graph.input, *self.graph.output]:
            if value.name == old:
                value.name = new
        for init in self.graph.initializer:
            if init.name == old:
                init.name = new

    def prune(self) -> None:
        """Drop nodes no output depends on, then unused initializers and inputs."""
        producers = self.producers()
        needed: set[str] = set()
        live: set[str] = set()
        stack = list(self.output_names)
        while stack:
            tensor = stack.pop()
            if tensor in needed:
                continue
            needed.add(tensor)
            node = producers.get(tensor)
            if node is not None and node.name not in live:
                live.add(node.name)
                stack.extend(i for i in node.input if i)
        self.remove_nodes([n for n in self.graph.node if n.name not in live])
        used = {i for n in self.graph.node for i in n.input} | self.output_names
        kept = [i for i in self.graph.initializer if i.name in used]
        del self.graph.initializer[:]
        self.graph.initializer.extend(kept)
        inputs = [i for i in self.graph.input if i.name in used]
        del self.graph.input[:]
        self.graph.input.extend(inputs)

    def toposort(self) -> None:
        producers = self.producers()
        ordered: list[onnx.NodeProto] = []
        seen: set[str] = set()
        for root in self.graph.node:
            stack = [(root, False)]
            while stack:
                node, expanded = stack.pop()
                if node.name in seen:
                    continue
                if expanded:
                    seen.add(node.name)
                    ordered.append(node)
                    continue
                stack.append((node, True))
                for name in node.input:
                    parent = producers.get(name)
                    if parent is not None and parent.name not in seen:
                        stack.append((parent, False))
        del self.graph.node[:]
        self.graph.node.extend(ordered)
