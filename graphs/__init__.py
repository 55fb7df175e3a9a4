"""The LangGraph turn graph: state, nodes, routing and the graph factory; built in the conversation issue."""
