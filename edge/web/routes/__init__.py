"""One router per resource; each route declares who may call it by its dependencies."""
