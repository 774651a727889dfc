app-name = טוטי
skip-to-content = דילוג לתוכן
nav-main = ראשי
nav-profile = פרופיל
nav-admin = ניהול
sign-in = כניסה
sign-out = יציאה
language = שפה
language-apply = החלה
footer = טוטי: קולות ומוזיקה יחד, בדפדפן.
back-home = חזרה לדף הבית
home-title = ברוכים הבאים לטוטי
home-lead = הקריאו בקול, שירו יחד, היפגשו ושתפו את המוזיקה שלכם, הכול בדפדפן.
setup-pending = עדיין אין אף חשבון. ביומן ההפעלה הראשונה של השרת מופיע קישור חד־פעמי שהופך את האדם הראשון למנהל; הפקודה { $command } יוצרת קישור חדש.
home-no-studios = עדיין לא הופעל אף סטודיו בשרת הזה. מנהלים עדיין יכולים לנהל אנשים, תפקידים ומשימות מאזור הניהול.

# Problems as pages in other languages word them: `problem-<type>-<field>`, else
# `problem-<type>`. English pages show the server's own words, which often name the
# value at fault.
problem-not-found = אין כלום בכתובת הזו.
problem-unauthenticated = יש להתחבר קודם.
problem-forbidden = לחשבון שלך אין הרשאה לעשות את זה.
problem-invalid-field = משהו בטופס צריך תיקון.
problem-malformed-json = הבקשה לא הובנה.
problem-too-many-requests = יותר מדי ניסיונות. המתינו מעט ונסו שוב.
problem-busy = השרת עמוס. נסו שוב בעוד רגע.
problem-internal = משהו השתבש בשרת. הדבר נרשם ביומן; נסו שוב מאוחר יותר.
problem-method-not-allowed = הכתובת הזו לא מקבלת בקשה מהסוג הזה.
problem-body-too-large = מה שנשלח גדול ממה שהכתובת הזו מקבלת.
problem-unsupported-media-type = מה שנשלח אינו מסוג שהכתובת הזו מקבלת.
problem-timeout = הבקשה נמשכה זמן רב מדי.
problem-http-error = לא ניתן היה לטפל בבקשה.
problem-already-exists = זה כבר קיים.
