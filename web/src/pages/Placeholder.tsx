// The stand-in for screens not built yet; delete it when the last one is.
import { Card } from '../components/Page';

export function Placeholder({ todo }: { todo: string[] }) {
  return (
    <Card>
      <h2 className="todo-heading">TODO: this screen is not built yet</h2>
      <ul className="todo-list">
        {todo.map((t) => (
          <li key={t}>{t}</li>
        ))}
      </ul>
    </Card>
  );
}
