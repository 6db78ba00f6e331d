import { Kind, parse, type FieldNode, type FragmentDefinitionNode, type OperationDefinitionNode } from "graphql";
import { describe, expect, it } from "vitest";
import { nodeFieldsSelected, projection } from "../../src/graphql/selected-fields.js";

/** The selection of the document's first root field, as a resolver of that field would see it. */
function selectionOf(document: string) {
  const parsed = parse(document);
  const operation = parsed.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  const fragments = Object.fromEntries(
    parsed.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((fragment) => [fragment.name.value, fragment]),
  );
  return { fieldNodes: [operation.selectionSet.selections[0] as FieldNode], fragments };
}

const names = (document: string) => {
  const fields = nodeFieldsSelected(selectionOf(document));
  return fields && [...fields.keys()].sort();
};

const columns = projection<string>({ id: ["id"], title: ["title"], reporter: ["reporter_id"], status: ["status"], next: ["status"] });

describe("the fields selected on a connection's rows", () => {
  it("come from nodes and from edges.node alike", () => {
    expect(names(`{ page { nodes { id } edges { cursor node { title } } pageInfo { hasNextPage } } }`)).toEqual(["id", "title"]);
  });

  it("include named and inline fragments, at any depth", () => {
    expect(names(`{ page { ...P } } fragment P on Page { nodes { id ... on Row { title ...R } } } fragment R on Row { status }`)).toEqual([
      "id",
      "status",
      "title",
    ]);
  });

  it("count a field under @include(if: false): a superset is safe to fetch for", () => {
    expect(names(`query($x: Boolean!) { page { nodes { id title @include(if: $x) } } }`)).toEqual(["id", "title"]);
  });

  it("keep every node of a field selected under several aliases", () => {
    const fields = nodeFieldsSelected(selectionOf(`{ page { nodes { a: logs(first: 1) { n } b: logs(first: 2) { n } } } }`));
    expect(fields?.get("logs")?.map((node) => node.alias?.value)).toEqual(["a", "b"]);
  });

  it("are unknown when a fragment is missing", () => {
    expect(names(`{ page { nodes { ...Missing } } }`)).toBeUndefined();
  });

  it("are the same object for the same field nodes: a page of rows walks its selection once", () => {
    const selection = selectionOf(`{ page { nodes { id } } }`);
    expect(nodeFieldsSelected(selection)).toBe(nodeFieldsSelected(selection));
  });
});

describe("the columns behind a selection", () => {
  it("are what the selected fields read, each once", () => {
    expect(columns(selectionOf(`{ page { nodes { id status next reporter { name } __typename } } }`))).toEqual([
      "id",
      "status",
      "reporter_id",
    ]);
  });

  it("are every column when a field is not in the map, so that a new field never reads a missing column", () => {
    expect(columns(selectionOf(`{ page { nodes { id somethingNew } } }`))).toBeUndefined();
  });

  it("are every column when a field's name is an Object.prototype property", () => {
    expect(columns(selectionOf(`{ page { nodes { id constructor } } }`))).toBeUndefined();
  });

  it("are every column when the selection cannot be read", () => {
    expect(columns(selectionOf(`{ page { nodes { ...Missing } } }`))).toBeUndefined();
  });
});
