"""LangChain: structured output into a pydantic class."""

from __future__ import annotations

from pydantic import BaseModel, Field

from examples._runtime import replaying, target
from langchain_modelslab import ChatModelsLab

MODEL = "google-gemma-3-1b-it"


class Person(BaseModel):
    """A person mentioned in a text."""

    name: str = Field(description="the person's name")
    age: int = Field(description="the person's age in years")


def main() -> None:
    where = target()
    print(where.describe())
    llm = ChatModelsLab(model=MODEL, temperature=0, max_tokens=120, **where.langchain_kwargs())
    extractor = llm.with_structured_output(Person, method="function_calling")
    with replaying("langchain_structured", where):
        person = extractor.invoke("Alice is 30 years old. Extract the person.")
    print("parsed:", repr(person))


if __name__ == "__main__":
    main()
